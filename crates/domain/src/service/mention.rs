//! @mentions in notes and replies: `@ann` names the user whose email starts `ann@`, and
//! `@"Ann Lee"` the user named so. An `@` inside a word (an email address such as
//! `ann@example.com`) mentions nobody.

use std::collections::BTreeSet;

/// Someone a text mentions, as written (lower-cased, for matching without regard to case).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mention {
    /// `@local`: the part of an email address before the `@`.
    Local(String),
    /// `@"Full Name"`: a user's name.
    Name(String),
}

fn local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%')
}

/// Every distinct mention in `text`, in order of first appearance.
pub fn mentions(text: &str) -> Vec<Mention> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '.' | '_' | '-' | '+' | '@'));
        if chars[i] != '@' || !starts_word {
            i += 1;
            continue;
        }
        let mention = if chars.get(i + 1) == Some(&'"') {
            let close = chars[i + 2..].iter().position(|c| *c == '"' || *c == '\n').map(|k| i + 2 + k);
            match close {
                Some(end) if chars[end] == '"' => {
                    let name: String = chars[i + 2..end].iter().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
                    i = end + 1;
                    (!name.is_empty()).then(|| Mention::Name(name.to_lowercase()))
                }
                _ => {
                    i += 2;
                    None
                }
            }
        } else {
            let end = chars[i + 1..].iter().position(|c| !local_char(*c)).map_or(chars.len(), |k| i + 1 + k);
            // A sentence's full stop is not part of the name: "thanks @ann."
            let mut local: String = chars[i + 1..end].iter().collect();
            while local.ends_with('.') {
                local.pop();
            }
            i = end;
            (!local.is_empty()).then(|| Mention::Local(local.to_lowercase()))
        };
        if let Some(m) = mention
            && seen.insert(m.clone())
        {
            found.push(m);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> Mention {
        Mention::Local(s.into())
    }

    #[test]
    fn mentions_by_email_local_part_and_by_quoted_name() {
        assert_eq!(mentions("@ann please look, cc @Bob.Smith."), [local("ann"), local("bob.smith")]);
        assert_eq!(mentions("Ask @\"Carla  Díaz\" or @\"dan\"!"), [Mention::Name("carla díaz".into()), Mention::Name("dan".into())]);
        assert_eq!(mentions("(@ann) and @ann again, @ANN"), [local("ann")], "once each, case ignored");
        assert_eq!(mentions("first line\n@eve: second"), [local("eve")]);
    }

    #[test]
    fn an_email_address_or_a_lone_at_mentions_nobody() {
        assert!(mentions("write to ann@example.com").is_empty());
        assert!(mentions("meet @ 10, or @. or @\"unclosed name").is_empty());
        assert!(mentions("@\"\" and @\"  \"").is_empty());
        assert!(mentions("").is_empty());
    }
}
