//! The least-privilege check `scripts/test.sh` runs after the tests: every AWS call a function
//! made in them (the records in `SWITCHBOARD_IAM_RECORDS`, see `recording.rs`) must be granted
//! by the function's policy in `infra/template.yaml`, or the check fails listing them; grants no
//! test used are listed and written to `iam-not-performed.txt` beside the records folder.

use std::process::ExitCode;

use switchboard_local::iam::compare;
use switchboard_local::template::TEMPLATE;
use switchboard_tests::recording::{read_records, records_dir, RECORDS};

fn main() -> ExitCode {
    let dir = records_dir();
    let accesses = match read_records(&dir) {
        Ok(accesses) if !accesses.is_empty() => accesses,
        Ok(_) => {
            eprintln!("iam-check: no records in {} ({RECORDS}): run the tests first", dir.display());
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("iam-check: cannot read the records: {error}");
            return ExitCode::FAILURE;
        }
    };
    let comparison = match compare(TEMPLATE, &accesses) {
        Ok(comparison) => comparison,
        Err(error) => {
            eprintln!("iam-check: cannot evaluate infra/template.yaml: {error}");
            return ExitCode::FAILURE;
        }
    };
    let unused: String = comparison.not_performed.iter().map(|finding| format!("{finding}\n")).collect();
    let unused_file = dir.with_file_name("iam-not-performed.txt");
    if let Err(error) = std::fs::write(&unused_file, &unused) {
        eprintln!("iam-check: cannot write {}: {error}", unused_file.display());
        return ExitCode::FAILURE;
    }
    println!(
        "iam-check: granted but performed by no test ({}, also in {}):\n{unused}",
        comparison.not_performed.len(),
        unused_file.display()
    );
    if comparison.not_granted.is_empty() {
        println!("iam-check: every one of the {} recorded calls is granted", accesses.len());
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "iam-check: performed but not granted by infra/template.yaml ({}; AWS denies these calls):",
        comparison.not_granted.len()
    );
    for finding in &comparison.not_granted {
        eprintln!("  {finding}");
    }
    ExitCode::FAILURE
}
