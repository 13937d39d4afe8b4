//! `docs/IDENTITY.md` cannot drift from the verification: its example secret, user id and
//! signature agree with Switchboard's own HMAC check, every example shows that signature, and its
//! Python, Node.js and Go examples, run, print it (the test setup installs Go with the other
//! system packages the tests run).

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

/// What running `program` with the document's example secret printed, after checking it succeeded.
fn printed_by(mut program: Command, language: &str) -> String {
    let secret = quoted_after(&doc(), "With the identity secret");
    let output = program
        .env("SWITCHBOARD_IDENTITY_SECRET", &secret)
        .output()
        .unwrap_or_else(|e| panic!("the {language} example cannot start: {e}"));
    assert!(output.status.success(), "{language}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The first example of `language`.
fn example(language: &str) -> String {
    blocks(&doc(), language).first().copied().unwrap_or_else(|| panic!("no {language} example")).to_owned()
}

#[test]
fn the_python_example_prints_the_documented_signature() {
    // Arrange
    let signature = quoted_after(&doc(), "the\nsignature is");
    let mut python = Command::new("python3");
    python.args(["-c", &example("python")]);

    // Act
    let printed = printed_by(python, "Python");

    // Assert
    assert_eq!(printed, signature);
}

#[test]
fn the_node_example_prints_the_documented_signature() {
    // Arrange
    let signature = quoted_after(&doc(), "the\nsignature is");
    let mut node = Command::new("node");
    node.args(["--input-type=module", "--eval", &example("js")]);

    // Act
    let printed = printed_by(node, "Node.js");

    // Assert
    assert_eq!(printed, signature);
}

#[test]
fn the_go_example_prints_the_documented_signature() {
    // Arrange
    let signature = quoted_after(&doc(), "the\nsignature is");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let main = dir.path().join("main.go");
    std::fs::write(&main, example("go")).expect("the example is written");
    let mut go = Command::new("go");
    go.arg("run").arg(&main).env("GOCACHE", dir.path().join("cache")).env("GOPATH", dir.path().join("path"));

    // Act
    let printed = printed_by(go, "Go");

    // Assert
    assert_eq!(printed, signature);
}
