//! `docs/IDENTITY.md` cannot drift from the verification: its example secret, user id and
//! signature agree with Switchboard's own HMAC check, every example shows that signature, and its
//! Python example, run, prints it.

use std::path::Path;
use std::process::Command;

use switchboard_shared::domain::widget::{sign_user_id, signature_matches};

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/IDENTITY.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text in backticks right after `label` in the document.
fn quoted_after(doc: &str, label: &str) -> String {
    let start = doc.find(label).unwrap_or_else(|| panic!("docs/IDENTITY.md lacks {label:?}")) + label.len();
    let rest =
        doc[start..].trim_start().strip_prefix('`').unwrap_or_else(|| panic!("no `value` after {label:?}"));
    rest.split('`').next().unwrap_or_default().to_owned()
}

/// The code blocks of a language.
fn blocks<'a>(doc: &'a str, language: &str) -> Vec<&'a str> {
    let fence = format!("```{language}\n");
    doc.match_indices(&fence).filter_map(|(at, _)| doc[at + fence.len()..].split("```").next()).collect()
}

#[test]
fn the_documented_signature_is_the_one_switchboard_verifies() {
    // Arrange
    let doc = doc();
    let secret = quoted_after(&doc, "With the identity secret");
    let user = quoted_after(&doc, "and the user id");
    let signature = quoted_after(&doc, "the\nsignature is");

    // Act
    let computed = sign_user_id(&secret, &user);

    // Assert
    assert_eq!(computed, signature);
    assert!(signature_matches(&secret, &user, &signature));
    for language in ["js", "python", "go"] {
        let examples = blocks(&doc, language);
        assert!(!examples.is_empty(), "no {language} example");
        assert!(examples[0].contains(&signature), "the {language} example does not show the signature");
    }
}

#[test]
fn the_python_example_prints_the_documented_signature() {
    // Arrange
    let doc = doc();
    let secret = quoted_after(&doc, "With the identity secret");
    let signature = quoted_after(&doc, "the\nsignature is");
    let example = blocks(&doc, "python").first().copied().expect("a Python example").to_owned();

    // Act
    let output = Command::new("python3")
        .args(["-c", &example])
        .env("SWITCHBOARD_IDENTITY_SECRET", &secret)
        .output()
        .expect("python3 runs (the test setup installs it for the moto server)");

    // Assert
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), signature);
}
