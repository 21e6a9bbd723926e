use super::*;

const REPLY: &str = "From: \"Ann Lee\" <ANN@Example.com>\r\nTo: support@rapport.test\r\nSubject: Re: [#42] Printer on fire\r\n\
Message-ID: <r2@mail.example.com>\r\nIn-Reply-To: <ack-42@rapport>\r\nReferences: <q1@mail.example.com> <ack-42@rapport>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nStill burning.\r\n";

#[test]
fn a_reply_is_read_with_its_sender_thread_and_ticket_tag() {
    let m = InboundMail::parse(REPLY.as_bytes()).unwrap();
    assert_eq!(m.message_id, "r2@mail.example.com");
    assert_eq!(m.refers_to, ["ack-42@rapport", "q1@mail.example.com"]);
    assert_eq!((m.from_email.as_str(), m.from_name.as_str()), ("ann@example.com", "Ann Lee"));
    assert_eq!(m.subject, "Re: [#42] Printer on fire");
    assert_eq!(m.ticket_number(), Some(42));
    assert_eq!(m.body, "Still burning.");
    assert!(!m.auto_submitted);
}

#[test]
fn html_only_mail_becomes_text_and_a_missing_message_id_is_made_stable() {
    let raw = "From: bob@example.com\r\nSubject: Hi\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/html\r\n\r\n<p>Out of <b>office</b></p>\r\n";
    let a = InboundMail::parse(raw.as_bytes()).unwrap();
    let b = InboundMail::parse(raw.as_bytes()).unwrap();
    assert_eq!(a.body, "Out of office");
    assert_eq!(a.from_name, "bob");
    assert!(a.auto_submitted);
    assert!(a.message_id.starts_with("missing-"));
    assert_eq!(a.message_id, b.message_id);
}

#[test]
fn a_message_without_a_usable_sender_names_the_header() {
    let fields = |r: Result<InboundMail, ValidationErrors>| r.unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
    assert_eq!(fields(InboundMail::parse(b"Subject: x\r\n\r\nbody")), ["From"]);
    assert_eq!(fields(InboundMail::parse(b"From: not an address\r\nSubject: x\r\n\r\nbody")), ["From"]);
    assert_eq!(fields(InboundMail::parse(b"")), ["body"]);
}

#[test]
fn ticket_tags_are_found_only_in_their_exact_form() {
    assert_eq!(ticket_number("[#7] x"), Some(7));
    assert_eq!(ticket_number("Re: Fwd: about [#x] and [#123]"), Some(123));
    assert_eq!(ticket_number("#123 [# 4] [#5"), None);
    assert_eq!(subject_for(9, "Re", "[#9] Broken"), "Re: [#9] Broken");
    assert_eq!(subject_for(9, "", "Broken"), "[#9] Broken");
}

#[test]
fn references_keep_the_first_and_the_latest_nine() {
    let thread: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    let r = references(&thread);
    assert_eq!(r.len(), 10);
    assert_eq!((r[0].as_str(), r[1].as_str(), r[9].as_str()), ("m0", "m6", "m14"));
    assert_eq!(references(&thread[..3]), thread[..3].to_vec());
}

#[test]
fn temporary_failures_back_off_and_permanent_ones_fail() {
    assert_eq!(retry_after(1, false), Some(60));
    assert_eq!(retry_after(3, false), Some(240));
    assert_eq!(retry_after(MAX_ATTEMPTS, false), None);
    assert_eq!(retry_after(1, true), None);
    for s in MailState::ALL {
        assert_eq!(MailState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn ticket_mails_carry_the_number_in_subject_and_text() {
    let (s, t) = ticket_mail_text(TicketMailReason::Acknowledgement, 5, "Broken", "");
    assert_eq!(s, "[#5] Broken");
    assert!(t.contains("ticket #5"));
    let (s, t) = ticket_mail_text(TicketMailReason::Reply, 5, "Broken", "Try turning it off.");
    assert_eq!(s, "Re: [#5] Broken");
    assert!(t.starts_with("Try turning it off."));
    assert_eq!(ticket_mail_text(TicketMailReason::Resolved, 5, "Broken", "").0, "Resolved: [#5] Broken");
    assert!(!ticket_mail_text(TicketMailReason::Resolved, 5, "Broken", "").1.contains("How did we do"));
    let (_, t) = ticket_mail_text(TicketMailReason::Resolved, 5, "Broken", "https://crm.example.com/support/surveys/abc");
    assert!(t.contains("Tell us here: https://crm.example.com/support/surveys/abc\n"), "{t}");
}

#[test]
fn nul_characters_never_reach_the_database() {
    let m = InboundMail::parse(b"From: \"A\0B\" <a@example.com>\r\nSubject: x\0y\r\n\r\nbo\0dy\r\n").unwrap();
    assert_eq!((m.from_name.as_str(), m.subject.as_str(), m.body.as_str()), ("AB", "xy", "body"));
}
