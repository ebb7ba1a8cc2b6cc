//! Rules for the names admins type. The server applies them whatever the
//! browser did; the messages are shown next to the field as they are.

pub const NAME_MAX_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter a name; it cannot be empty or only spaces.")]
    Empty,
    #[error("The name is too long: at most {NAME_MAX_CHARS} characters, this one has {0}.")]
    TooLong(usize),
    #[error("The name cannot contain control characters such as line breaks or tabs.")]
    ControlCharacter,
}

/// A name that passed the rules: trimmed, non-empty, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    display: String,
    folded: String,
}

impl Name {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let display = raw.trim();
        if display.is_empty() {
            return Err(NameError::Empty);
        }
        let chars = display.chars().count();
        if chars > NAME_MAX_CHARS {
            return Err(NameError::TooLong(chars));
        }
        if display.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self { display: display.to_owned(), folded: fold(display) })
    }

    /// The name as the admin typed it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The name as the uniqueness index sees it.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username has 1 to {USERNAME_MAX_CHARS} characters")]
    Length,
    #[error("a username may contain only letters, digits and . _ - @")]
    Character,
}

pub const USERNAME_MAX_CHARS: usize = 64;

/// A sign-in name, compared ignoring case, stored lower-case.
pub fn username(raw: &str) -> Result<String, UsernameError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > USERNAME_MAX_CHARS {
        return Err(UsernameError::Length);
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')) {
        return Err(UsernameError::Character);
    }
    Ok(name.to_ascii_lowercase())
}

/// Case folding for "unique ignoring case": a stored column with a unique index
/// works the same on SQLite and PostgreSQL, unlike collations.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_the_display_form() {
        let name = Name::parse("  Billing Service ").unwrap();
        assert_eq!(name.as_str(), "Billing Service");
        assert_eq!(name.folded(), "billing service");
    }

    #[test]
    fn refuses_empty_and_blank() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert_eq!(Name::parse("   \u{3000} "), Err(NameError::Empty));
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert_eq!(Name::parse(&"é".repeat(101)), Err(NameError::TooLong(101)));
        assert!(Name::parse(&"a".repeat(100)).is_ok());
        assert_eq!(Name::parse(&"a".repeat(101)), Err(NameError::TooLong(101)));
    }

    #[test]
    fn refuses_control_characters() {
        assert_eq!(Name::parse("a\nb"), Err(NameError::ControlCharacter));
        assert_eq!(Name::parse("a\u{0}b"), Err(NameError::ControlCharacter));
    }

    #[test]
    fn keeps_markup_as_plain_text() {
        let name = Name::parse("<img src=x onerror=alert(1)>").unwrap();
        assert_eq!(name.as_str(), "<img src=x onerror=alert(1)>");
    }

    #[test]
    fn folding_ignores_case_including_non_ascii() {
        assert_eq!(fold("PROD Ключ"), fold("prod ключ"));
    }

    #[test]
    fn usernames_are_plain_and_lower_case() {
        assert_eq!(username(" Admin@Example.com "), Ok("admin@example.com".into()));
        assert_eq!(username(""), Err(UsernameError::Length));
        assert_eq!(username(&"a".repeat(65)), Err(UsernameError::Length));
        assert_eq!(username("a b"), Err(UsernameError::Character));
        assert_eq!(username("ädmin"), Err(UsernameError::Character));
    }

    #[test]
    fn messages_name_the_problem() {
        assert!(NameError::TooLong(101).to_string().contains("at most 100"));
        assert!(NameError::Empty.to_string().contains("empty"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// A name that passes is trimmed, 1 to 100 characters without control
        /// characters, and passes again unchanged.
        #[test]
        fn accepted_names_keep_the_rules(raw in prop_oneof![any::<String>(), "[ a-zA-Zé\\t\\n]{0,120}"]) {
            if let Ok(name) = Name::parse(&raw) {
                let shown = name.as_str();
                prop_assert_eq!(shown, raw.trim());
                prop_assert!((1..=NAME_MAX_CHARS).contains(&shown.chars().count()));
                prop_assert!(!shown.chars().any(char::is_control));
                prop_assert_eq!(Name::parse(shown), Ok(name.clone()));
            }
        }

        #[test]
        fn accepted_usernames_are_short_plain_and_lower_case(raw in prop_oneof![any::<String>(), "[ a-zA-Z0-9._@-]{0,70}"]) {
            if let Ok(name) = username(&raw) {
                prop_assert!((1..=USERNAME_MAX_CHARS).contains(&name.len()));
                prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_@".contains(&b)));
                prop_assert_eq!(username(&name), Ok(name.clone()));
            }
        }
    }
}
