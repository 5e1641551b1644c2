//! Auto-replies: out-of-office and vacation answers, which come back to the
//! bounce address like bounces but are none (the mailbox exists and got
//! the release). RFC 3834 marks them `Auto-Submitted: auto-replied`; many
//! clients mark them only by their subject or first lines, in the
//! recipient's language.

/// Subjects and first lines of out-of-office replies, lowercased: English,
/// German, French, Spanish, Italian, Dutch, Portuguese, Scandinavian,
/// Polish, Japanese.
const PHRASES: &[&str] = &[
    // English
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "autoresponse",
    "away from the office",
    "away from my desk",
    "on vacation",
    "on holiday",
    "on leave",
    "on annual leave",
    "i am away",
    "i'm away",
    // German
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesend",
    "nicht im büro",
    "nicht im hause",
    "außer haus",
    "im urlaub",
    "abwesenheit",
    // French
    "réponse automatique",
    "reponse automatique",
    "absent du bureau",
    "absente du bureau",
    "je suis absent",
    "je suis absente",
    "en congés",
    "en congé",
    "en vacances",
    "message d'absence",
    // Spanish
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "fuera de oficina",
    "estoy ausente",
    "de vacaciones",
    "mensaje de ausencia",
    // Italian
    "risposta automatica",
    "fuori ufficio",
    "fuori sede",
    "in ferie",
    // Dutch
    "automatisch antwoord",
    "afwezig",
    "niet op kantoor",
    // Portuguese
    "resposta automática",
    "resposta automatica",
    "fora do escritório",
    "ausência",
    // Swedish, Norwegian, Danish
    "autosvar",
    "frånvaro",
    "fravær",
    // Polish
    "automatyczna odpowiedź",
    "poza biurem",
    // Japanese
    "自動返信",
    "不在",
];

/// Whether a message is an auto-reply, from its headers (RFC 3834 §5 and
/// the older de-facto headers) or its subject and opening text.
pub fn is_auto_reply(headers: &[(String, String)], subject: &str, opening: &str) -> bool {
    let header = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    if header("auto-submitted").any(|v| v.starts_with("auto-replied")) {
        return true;
    }
    if header("x-autoreply").any(|v| v == "yes" || v == "true")
        || header("x-autorespond").next().is_some()
        || header("precedence").any(|v| v == "auto_reply")
        || header("x-auto-reply").next().is_some()
    {
        return true;
    }
    let subject = subject.to_lowercase();
    if PHRASES.iter().any(|p| subject.contains(p)) {
        return true;
    }
    let opening: String = opening.chars().take(400).collect::<String>().to_lowercase();
    PHRASES.iter().any(|p| opening.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_header_subject_or_text() {
        let h = vec![("Auto-Submitted".to_string(), "auto-replied".to_string())];
        assert!(is_auto_reply(&h, "Re: release", ""));
        assert!(is_auto_reply(
            &[],
            "Abwesenheitsnotiz: Pressemitteilung",
            ""
        ));
        assert!(is_auto_reply(
            &[],
            "Re: x",
            "Je suis absente du bureau jusqu'au 3 mai."
        ));
        assert!(!is_auto_reply(
            &[],
            "Re: your release",
            "Thanks, we will run it."
        ));
        let generated = vec![("Auto-Submitted".to_string(), "auto-generated".to_string())];
        assert!(!is_auto_reply(&generated, "Hello", ""));
    }
}
