//! Descriptive names for k-means clusters of people, read from their centres: "recent,
//! frequent, high spend" instead of "segment 3".
//!
//! The centres are in the space of [`crate::rfm::segmentation_features`]: z-scored
//! `log1p([recency, frequency, monetary])`, so 0 is the average person and each unit one
//! standard deviation. A coordinate at least [`THRESHOLD`] away from 0 gives the cluster a
//! word on that axis (recency is days since the last purchase, so a low value is *recent*); a
//! centre near the average on every axis is "average". Two clusters that read the same are
//! told apart by a number, in cluster order.

/// How far (in standard deviations) a centre must lie from the average to earn a word.
pub const THRESHOLD: f64 = 0.5;

/// Words for below and above the average on each axis, in feature order.
const WORDS: [(&str, &str); 3] = [("recent", "lapsed"), ("occasional", "frequent"), ("low spend", "high spend")];

/// The name of one centre (`[recency, frequency, monetary]`, z-scored).
pub fn centre_name(centre: &[f64]) -> String {
    let words: Vec<&str> = centre
        .iter()
        .zip(WORDS)
        .filter_map(|(z, (low, high))| {
            if *z <= -THRESHOLD {
                Some(low)
            } else if *z >= THRESHOLD {
                Some(high)
            } else {
                None
            }
        })
        .collect();
    if words.is_empty() { "average".to_string() } else { words.join(", ") }
}

/// One name per centre, each distinct: a name shared by several clusters gets " 2", " 3"… on
/// its second and later clusters.
pub fn cluster_names(centroids: &[Vec<f64>]) -> Vec<String> {
    let base: Vec<String> = centroids.iter().map(|c| centre_name(c)).collect();
    base.iter()
        .enumerate()
        .map(|(i, n)| {
            let before = base[..i].iter().filter(|b| *b == n).count();
            if before == 0 { n.clone() } else { format!("{n} {}", before + 1) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_axis_far_from_the_average_gives_a_word() {
        assert_eq!(centre_name(&[-1.2, 1.0, 1.4]), "recent, frequent, high spend");
        assert_eq!(centre_name(&[1.3, -0.9, -0.8]), "lapsed, occasional, low spend");
        assert_eq!(centre_name(&[0.1, 0.2, 0.9]), "high spend");
        assert_eq!(centre_name(&[0.6, 0.0, 0.0]), "lapsed");
        assert_eq!(centre_name(&[0.49, -0.49, 0.0]), "average");
    }

    #[test]
    fn clusters_that_read_the_same_are_numbered() {
        let names = cluster_names(&[vec![-1.0, 0.0, 0.0], vec![0.0, 0.0, 0.0], vec![-2.0, 0.1, 0.2], vec![0.2, 0.0, 0.1]]);
        assert_eq!(names, ["recent", "average", "recent 2", "average 2"]);
    }
}
