//! The emulator against the hello-world reference: init is timed, the event comes back, and the
//! peak RSS is read.

use switchboard_bench::emulator::{run_once, Function, Outcome, RunOptions};

#[tokio::test]
async fn hello_world_is_timed_and_echoes_its_event() {
    let hello = Function::new(env!("CARGO_BIN_EXE_hello-lambda"), r#"{"message":"hello"}"#);

    let sample =
        run_once(&hello, &RunOptions::default()).await.expect("hello-lambda runs under the emulator");

    assert!(!sample.init.is_zero());
    assert!(sample.peak_rss_kib > 0);
    assert_eq!(sample.aws_calls, 0);
    match sample.outcome {
        Outcome::Response { status: None, body } => assert_eq!(body, r#"{"message":"hello"}"#),
        other => panic!("expected the echoed event, got {other:?}"),
    }
}

#[tokio::test]
async fn binary_that_is_not_a_lambda_function_is_reported() {
    let not_a_function = Function::new("/bin/true", "{}");

    let error = run_once(&not_a_function, &RunOptions::default()).await.expect_err("true never polls");

    assert!(error.to_string().contains("exited"), "{error}");
}
