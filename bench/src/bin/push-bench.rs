//! Bulk send of many recipients through the production SNS adapter against an SNS-compatible
//! server (moto): every recipient has one Android device with a real endpoint there; the send is
//! the job `POST /notifications/bulk-send` starts, worked on by the bulk worker's code in this
//! process (the in-process job queue), from the request until the job is done. Prints the wall
//! time of the send and this process's CPU time per push (user + system, from /proc/self/stat,
//! in 10 ms ticks). Then, as the floor to compare with in the same run, the same number of bare
//! Publish calls through the same adapter, as many at once as the worker makes: what the SNS
//! client alone costs per push, with no store and no job.
//!
//!   push-bench --sns-endpoint http://127.0.0.1:PORT [--recipients 10000]
//!
//! `scripts/bench-push.sh` starts a moto server and runs it. Figures: docs/BENCHMARKS.md ("Push").

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use switchboard_shared::domain::push::Category;
use switchboard_shared::domain::{Principal, Role, UserId};
use switchboard_shared::ops::bulk::{get_bulk_job, start_bulk_send};
use switchboard_shared::ops::{platform_message, Notification, RECIPIENT_CONCURRENCY};
use switchboard_shared::push::sns::{PlatformApplications, SnsPush};
use switchboard_shared::push::{DeviceToken, Platform, Push};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::devices::{self, Device};
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;

#[derive(Parser)]
#[command(name = "push-bench", about = "Bulk send through SNS (moto) and its cost per push")]
struct Args {
    /// The SNS-compatible server.
    #[arg(long)]
    sns_endpoint: String,
    /// Recipients, each with one device.
    #[arg(long, default_value_t = 10_000)]
    recipients: usize,
}

/// This process's CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let admin = SnsPush::for_endpoint(&args.sns_endpoint, PlatformApplications::default());
    let name = format!("push-bench-{}", ulid::Ulid::new());
    let created = admin
        .client()?
        .create_platform_application()
        .name(&name)
        .platform("GCM")
        .attributes("PlatformCredential", "bench")
        .send()
        .await?;
    let application = created.platform_application_arn().map(str::to_owned);
    let push = Arc::new(SnsPush::for_endpoint(
        &args.sns_endpoint,
        PlatformApplications { android: application, ..PlatformApplications::default() },
    ));
    let dir = tempfile::TempDir::new()?;
    let store = Arc::new(SqliteItemStore::open(&dir.path().join("bench.db"))?);

    eprintln!("push-bench: creating {} endpoints on {}", args.recipients, args.sns_endpoint);
    let setup = Instant::now();
    let mut users = Vec::with_capacity(args.recipients);
    let mut arns = Vec::with_capacity(args.recipients);
    let at = switchboard_shared::domain::now();
    for n in 0..args.recipients {
        let user = UserId::parse(&format!("bench-user-{n}"))?;
        let token = DeviceToken::parse(&format!("{name}-token-{n}"))?;
        let arn = push.create_endpoint(Platform::Android, &token, user.as_str()).await?;
        arns.push(arn.clone());
        let device = Device {
            device_id: devices::device_id(&token),
            user_id: user.clone(),
            platform: Platform::Android,
            endpoint_arn: arn,
            app_version: None,
            enabled: true,
            registered_at: at,
            updated_at: at,
        };
        store.transact_write(vec![devices::put(&device)?.named("device")]).await?;
        users.push(user);
    }
    eprintln!("push-bench: set-up took {:.1} s; sending", setup.elapsed().as_secs_f64());

    let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")))
        .with_push(push.clone());
    let eve = Principal { user_id: UserId::parse("admin-eve")?, role: Role::Admin, name: None };
    let notification = Notification {
        category: Category::Announcement,
        title: "Scheduled maintenance".into(),
        body: "Chat is read-only on Sunday 02:00-03:00 UTC.".into(),
        session_id: None,
        data: Default::default(),
    };
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let job_notification = notification.clone();
    let (started_job, _) = start_bulk_send(&app, &eve, None, users, notification).await?;
    // Polled every 10 ms: a poll is one read, far below the send's own cost.
    let job = loop {
        let job = get_bulk_job(&app, &eve, &started_job.job_id).await?;
        if job.done {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;

    let message = platform_message(&started_job.job_id.to_string(), &job_notification)?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let published = futures::stream::iter(&arns)
        .map(|arn| push.publish(arn, &message))
        .buffer_unordered(RECIPIENT_CONCURRENCY)
        .filter(|outcome| std::future::ready(outcome.is_ok()))
        .count()
        .await;
    let floor_wall = started.elapsed().as_secs_f64();
    let floor_cpu = cpu_seconds() - cpu_before;

    println!(
        "| run | recipients | sent | failed | wall (s) | pushes/s | process CPU (s) | CPU per push (µs) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |what: &str, sent: usize, failed: usize, wall: f64, cpu: f64| {
        println!(
            "| {what} | {} | {sent} | {failed} | {wall:.2} | {:.0} | {cpu:.2} | {:.0} |",
            job.total,
            sent as f64 / wall,
            cpu * 1e6 / sent.max(1) as f64
        );
    };
    row("bulk send (job)", job.sent, job.failed, wall, cpu);
    row("bare Publish (floor)", published, arns.len() - published, floor_wall, floor_cpu);
    Ok(())
}
