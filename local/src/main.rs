//! `switchboard-local`: serve the API on localhost, or mint a development token.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use switchboard_local::attachments::{LocalBucket, ServerBucket};
use switchboard_local::feed::FeedOf;
use switchboard_local::ws::{Connections, LocalRealtime};
use switchboard_local::{dashboard, scheduler, secret, Gateway};
use switchboard_shared::analytics::pdf_reports::build_daily_report;
use switchboard_shared::analytics::range::Range;
use switchboard_shared::analytics::rollup;
use switchboard_shared::app::widget_token_limit_from_env;
use switchboard_shared::attachments::folder::FolderAttachments;
use switchboard_shared::attachments::store::AttachmentLinks;
use switchboard_shared::attachments::AttachmentLimits;
use switchboard_shared::auth::{TokenMinter, TokenVerifier};
use switchboard_shared::config::{dynamodb_client_for_endpoint, max_open_sessions_from_env, TokenSettings};
use switchboard_shared::domain::{Role, UserId};
use switchboard_shared::mail::folder::FolderMailer;
use switchboard_shared::mail::ses::SesMailer;
use switchboard_shared::mail::Mailer;
use switchboard_shared::ops::email::Mailing;
use switchboard_shared::push::sns::{PlatformApplications, SnsPush};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::realtime::Realtime;
use switchboard_shared::reports::folder::FolderReportStore;
use switchboard_shared::reports::s3::S3ReportStore;
use switchboard_shared::reports::{parse_day, ReportStore};
use switchboard_shared::store::dynamo::DynamoItemStore;
use switchboard_shared::store::sqlite::{SqliteItemStore, SqliteLimits};
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;

#[derive(Parser)]
#[command(name = "switchboard-local", about = "The Switchboard API on localhost, no AWS account needed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API (routes from infra/template.yaml) on localhost.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// How the functions post to WebSockets: handed to the socket in process, or through this
        /// gateway's own `/@connections` Management API with the production AWS SDK client.
        #[arg(long, value_enum, default_value_t = Delivery::InProcess)]
        realtime: Delivery,
        /// Publish pushes through an SNS-compatible server (moto) instead of keeping endpoints in
        /// memory; its platform applications (`switchboard-local-android`, `-ios`, `-web`) are
        /// created when missing.
        #[arg(long)]
        sns_endpoint: Option<String>,
        /// Send the e-mails of unread replies through an SES-compatible server (moto) instead of
        /// writing each one as an `.eml` file in `<data dir>/mail/`; the sender's domain is
        /// verified there first.
        #[arg(long)]
        ses_endpoint: Option<String>,
        /// The sender of those e-mails.
        #[arg(long, default_value = "support@switchboard.localhost")]
        email_from: String,
        /// The domain of the e-mails' reply addresses (`reply+<session>.<signature>@DOMAIN`);
        /// a reply saved as a file goes in when moved into `<data dir>/mail/inbox/`, or with
        /// `switchboard-local email-inbound FILE.eml`.
        #[arg(long, default_value = "in.switchboard.localhost")]
        email_inbound_domain: String,
        /// Do not run the template's schedules (the analytics rollup every 15 minutes, ...).
        #[arg(long)]
        no_schedules: bool,
        /// Do not run the change feed's consumer: changes wait in the feed, and their reactions
        /// (the day's counters, ...) happen once a gateway runs it again.
        #[arg(long)]
        no_feed: bool,
        /// The built web dashboard (`npm run build` in dashboard/), served at `/`.
        #[arg(long, default_value = "dashboard/dist")]
        dashboard_dir: PathBuf,
        /// The built chat widget (`npm run build` in widget/), served at `/widget/`.
        #[arg(long, default_value = "widget/dist")]
        widget_dir: PathBuf,
        /// Offer the dashboard's development sign-in (`POST /local/dev-token`) even on a
        /// non-loopback --host or with JWT_SECRET set, where it is off by default: whoever can
        /// reach the gateway can then mint admin tokens.
        #[arg(long)]
        dev_sign_in: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        reports: ReportArgs,
        /// With --s3-endpoint: keep attachments in this bucket on that server (created when
        /// missing); upload forms still post to this gateway, which verifies them and checks
        /// each file, and downloads come from the server.
        #[arg(long, default_value = "switchboard-attachments", requires = "s3_endpoint")]
        attachments_bucket: String,
    },
    /// Build the daily PDF report of a day now (replacing an earlier one), from its rollup
    /// (rolling the day up first when needed).
    Report {
        /// The UTC day, yyyy-mm-dd (before today).
        #[arg(long)]
        day: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Build the analytics rollups: of the days from --from to --to (a backfill, with progress
    /// per day), or, without them, what one scheduled run builds.
    Rollup {
        /// First day, yyyy-mm-dd.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day, yyyy-mm-dd (today at the latest).
        #[arg(long, requires = "from")]
        to: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Take in a reply to one of the e-mails, saved as a file (`.eml`), as SES receiving would:
    /// its signed reply address, sender and Message-ID are checked and its text is posted as the
    /// customer's message, its files as the message's attachments, stored in the bucket `serve`
    /// keeps attachments in and checked at once (printed as JSON: posted, duplicate, or refused
    /// and why).
    EmailInbound {
        /// The e-mail, as received (RFC 5322).
        file: PathBuf,
        /// The running gateway, whose `/@connections` the new message is posted through and
        /// whose address the attachments' links lead to.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        gateway: String,
        #[command(flatten)]
        store: StoreArgs,
        /// The S3-compatible server `serve --s3-endpoint` keeps attachments on (default: the data
        /// directory's `attachments` folder).
        #[arg(long)]
        s3_endpoint: Option<String>,
        /// The attachments bucket on that server, as given to `serve`.
        #[arg(long, default_value = "switchboard-attachments", requires = "s3_endpoint")]
        attachments_bucket: String,
    },
    /// Take in the mail service's report on one of the e-mails, saved as a file: SES's event
    /// JSON (`Delivery`, `Bounce`, `Complaint`, `Reject`), as its SNS notifications carry it. The
    /// e-mail's status moves on, and an address that bounced for good or complained gets no
    /// more e-mail (printed as JSON).
    EmailReport {
        /// SES's event (the `Message` of the SNS notification).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a JWT the local gateway accepts.
    Token {
        /// User id (the `sub` claim).
        #[arg(long)]
        sub: String,
        /// customer, agent or admin.
        #[arg(long)]
        role: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds (at most JWT_MAX_LIFETIME_SECONDS, a day by default).
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
        /// The data directory of the gateway that should accept it.
        #[arg(long, default_value = ".switchboard")]
        data_dir: PathBuf,
    },
    /// Write the fixture world of events/README.md into a store, so the events/*.json fixtures
    /// can be invoked against it.
    SeedFixtures {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Print the OpenAPI document.
    Openapi,
}

/// How the functions behind the gateway post frames to WebSocket connections.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Delivery {
    /// In process: fast (a 1,000-socket fan-out in milliseconds; see docs/BENCHMARKS.md).
    InProcess,
    /// `PostToConnection` over HTTP to this gateway's `/@connections`, as in AWS.
    ManagementApi,
}

/// Where the data lives: the SQLite store of a data directory, or a DynamoDB-compatible server.
#[derive(clap::Args)]
struct StoreArgs {
    /// Where the SQLite file and the development signing secret live.
    #[arg(long, default_value = ".switchboard")]
    data_dir: PathBuf,
    /// Use a DynamoDB-compatible server (moto, DynamoDB Local) instead of SQLite.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// The table on that server (created when missing).
    #[arg(long, default_value = "switchboard")]
    table: String,
}

/// Where the daily PDF reports go: `<data dir>/reports`, or a bucket on an S3-compatible server.
#[derive(clap::Args)]
struct ReportArgs {
    /// Keep reports (and, when serving, attachments) in a bucket on an S3-compatible server
    /// (moto) instead of the data directory, downloaded through its presigned URLs.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// The bucket on that server (created when missing).
    #[arg(long, default_value = "switchboard-reports")]
    reports_bucket: String,
}

/// The report store, and the folder whose links the gateway serves when it is one.
async fn open_reports(
    args: ReportArgs,
    data_dir: &std::path::Path,
    gateway_url: &str,
    secret: &str,
) -> Result<(Arc<dyn ReportStore>, Option<Arc<FolderReportStore>>), String> {
    match args.s3_endpoint {
        Some(endpoint) => {
            let store = S3ReportStore::for_endpoint(&endpoint, &args.reports_bucket);
            store.ensure_bucket().await.map_err(|e| format!("S3 at {endpoint}: {e}"))?;
            Ok((Arc::new(store), None))
        }
        None => {
            let folder = FolderReportStore::new(data_dir.join("reports"), gateway_url, secret.as_bytes())
                .map_err(|e| e.to_string())?;
            let folder = Arc::new(folder);
            Ok((folder.clone(), Some(folder)))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs as the functions do; the other commands answer on standard output.
    if matches!(cli.command, Command::Serve { .. }) {
        switchboard_shared::telemetry::init();
    } else {
        switchboard_shared::telemetry::init_on_stderr();
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchboard-local: {message}");
            ExitCode::FAILURE
        }
    }
}

/// An SNS push adapter on `endpoint`, with the local gateway's platform applications there.
/// SES on `endpoint` (moto), with the sender's domain verified (moto refuses other senders).
async fn ses_mailer(endpoint: &str, from: &str) -> Result<SesMailer, String> {
    let ses = SesMailer::for_endpoint(endpoint);
    let domain = from.rsplit_once('@').map_or(from, |(_, domain)| domain);
    let client = ses.client().map_err(|e| e.to_string())?;
    match client.create_email_identity().email_identity(domain).send().await {
        Ok(_) => Ok(ses),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(ses),
        Err(e) => Err(format!("verifying {domain} on {endpoint}: {e}")),
    }
}

async fn sns_push(endpoint: &str) -> Result<SnsPush, String> {
    let admin = SnsPush::for_endpoint(endpoint, PlatformApplications::default());
    let client = admin.client().map_err(|e| format!("SNS client: {e}"))?;
    let mut arns = Vec::new();
    for (name, platform) in [("android", "GCM"), ("ios", "APNS"), ("web", "GCM")] {
        let created = client
            .create_platform_application()
            .name(format!("switchboard-local-{name}"))
            .platform(platform)
            .attributes("PlatformCredential", "switchboard-local")
            .attributes("PlatformPrincipal", "switchboard-local")
            .send()
            .await
            .map_err(|e| format!("creating the {name} platform application on {endpoint}: {e}"))?;
        arns.push(created.platform_application_arn().map(str::to_owned));
    }
    let [android, ios, web] =
        <[Option<String>; 3]>::try_from(arns).map_err(|_| "three applications".to_owned())?;
    Ok(SnsPush::for_endpoint(endpoint, PlatformApplications { android, ios, web }))
}

/// The issuer, audience and longest token lifetime the gateway checks (`JWT_ISSUER`,
/// `JWT_AUDIENCE`, `JWT_MAX_LIFETIME_SECONDS`), as the authorizer in AWS does.
fn token_settings() -> Result<TokenSettings, String> {
    TokenSettings::from_env().map_err(|e| e.to_string())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            port,
            host,
            realtime,
            sns_endpoint,
            ses_endpoint,
            email_from,
            email_inbound_domain,
            no_schedules,
            no_feed,
            dashboard_dir,
            widget_dir,
            dev_sign_in,
            store,
            reports,
            attachments_bucket,
        } => {
            let secret =
                secret::load_or_create(&store.data_dir).map_err(|e| format!("signing secret: {e}"))?;
            let data_dir = store.data_dir.clone();
            let (store, feed_of) = open_store_and_feed(store).await?;
            let settings = token_settings()?;
            let widget_tokens = switchboard_local::widget::local_widget_tokens(&secret, &settings)?;
            let verifier = TokenVerifier::hs256(secret.as_bytes(), &settings.issuer, &settings.audience)
                .with_max_lifetime(settings.max_lifetime_seconds)
                .accepting_widget_tokens(&widget_tokens);
            switchboard_local::widget::ensure_demo_site(store.as_ref()).await?;
            let address = SocketAddr::new(host, port);
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| format!("listening on {address}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| format!("listening on {address}: {e}"))?;
            let connections = Arc::new(Connections::default());
            let realtime: Arc<dyn Realtime> = match realtime {
                Delivery::InProcess => Arc::new(LocalRealtime::new(Arc::clone(&connections))),
                Delivery::ManagementApi => {
                    Arc::new(ApiGatewayRealtime::for_endpoint(&format!("http://{bound}")))
                }
            };
            let s3_endpoint = reports.s3_endpoint.clone();
            let (reports, report_files) =
                open_reports(reports, &data_dir, &format!("http://{bound}"), &secret).await?;
            let max_open_sessions = max_open_sessions_from_env().map_err(|e| e.to_string())?;
            let attachment_bucket = open_attachments(
                s3_endpoint.as_deref(),
                &attachments_bucket,
                &data_dir,
                &format!("http://{bound}"),
                &secret,
            )
            .await?;
            let attachment_links: Arc<dyn AttachmentLinks> = match &attachment_bucket {
                LocalBucket::Folder(files) => files.clone(),
                LocalBucket::Server(bucket) => bucket.clone(),
            };
            let attachment_limits = AttachmentLimits::from_env().map_err(|e| e.to_string())?;
            let mut app = App::new(store, realtime)
                .with_reports(reports)
                .with_attachment_links(attachment_links)
                .with_attachment_objects(Arc::new(attachment_bucket.clone()))
                .with_attachment_limits(attachment_limits)
                .with_max_open_sessions(max_open_sessions)
                .with_widget_tokens(widget_tokens)
                .with_widget_token_limit(widget_token_limit_from_env().map_err(|e| e.to_string())?);
            if let Some(endpoint) = sns_endpoint {
                app = app.with_push(Arc::new(sns_push(&endpoint).await?));
            }
            let mailer: Arc<dyn Mailer> = match ses_endpoint {
                Some(endpoint) => Arc::new(ses_mailer(&endpoint, &email_from).await?),
                None => Arc::new(FolderMailer::new(data_dir.join("mail"))),
            };
            app = app.with_mailing(Arc::new(Mailing {
                mailer,
                from_address: email_from,
                api_base_url: format!("http://{bound}/api/v1"),
                inbound_domain: Some(email_inbound_domain),
            }));
            let feed = match no_feed {
                true => None,
                false => Some(switchboard_local::feed::start(
                    app.clone(),
                    switchboard_local::feed::open(feed_of).await?,
                )),
            };
            let schedules = scheduler::bind(&scheduler::functions())?;
            if !no_schedules {
                tokio::spawn(scheduler::run(Arc::new(app.clone()), schedules));
            }
            let inbox = switchboard_local::mailbox::inbox(&data_dir);
            tracing::info!(inbox = %inbox.display(), "replies (.eml) and SES reports (.json) put there are taken in");
            tokio::spawn(switchboard_local::mailbox::watch(app.clone(), inbox));
            let dashboard_built = switchboard_local::dashboard::is_built(&dashboard_dir);
            let build_dashboard = switchboard_local::dashboard::build_command(&dashboard_dir);
            let mut gateway = Gateway::with_connections(app, verifier, connections)
                .map_err(|e| e.to_string())?
                .serving_app(dashboard_dir)
                .serving_widget(widget_dir);
            gateway = match attachment_bucket {
                LocalBucket::Folder(files) => gateway.serving_attachment_files(files),
                LocalBucket::Server(bucket) => gateway.relaying_attachments_to(bucket),
            };
            let jwt_secret_set = std::env::var_os("JWT_SECRET").is_some();
            if dashboard::dev_sign_in_enabled(host, jwt_secret_set, dev_sign_in) {
                let minter = TokenMinter::hs256(secret.as_bytes(), &settings.issuer, &settings.audience);
                gateway = gateway.minting_dev_tokens(minter);
            } else {
                eprintln!(
                    "the dashboard's development sign-in is off (a non-loopback --host or JWT_SECRET is set; --dev-sign-in turns it on)"
                );
            }
            if let Some(files) = report_files {
                gateway = gateway.serving_report_files(files);
            }
            if let Some(feed) = feed {
                gateway = gateway.consuming_feed(feed);
            }
            // Before the address line, which scripts and tests wait for (and may stop reading at).
            if !dashboard_built {
                println!(
                    "The web dashboard is not built yet: run {build_dashboard} (Node.js 20 or later), then open http://{bound}/"
                );
            }
            let shutdown = shutdown_signal()?;
            // Printed on stdout (not only logged) so scripts and tests can wait for it.
            println!(
                "Switchboard API on http://{bound}/api/v1 (OpenAPI at /api/v1/openapi.json, WebSocket at ws://{bound}/ws, dashboard at http://{bound}/)"
            );
            gateway.serve(listener, shutdown).await.map_err(|e| format!("serving: {e}"))?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Token { sub, role, name, ttl, data_dir } => {
            let role = Role::parse(&role).map_err(|e| e.to_string())?;
            UserId::parse(&sub).map_err(|e| e.to_string())?;
            let settings = token_settings()?;
            if ttl > settings.max_lifetime_seconds {
                return Err(format!(
                    "--ttl {ttl} is longer than the {} seconds the gateway accepts (JWT_MAX_LIFETIME_SECONDS)",
                    settings.max_lifetime_seconds
                ));
            }
            let secret = secret::load_or_create(&data_dir).map_err(|e| format!("signing secret: {e}"))?;
            let token = TokenMinter::hs256(secret.as_bytes(), &settings.issuer, &settings.audience)
                .mint(&sub, role, name.as_deref(), ttl)
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        Command::Report { day, store, reports } => {
            let day = parse_day(&day).ok_or_else(|| format!("--day {day:?} is not yyyy-mm-dd"))?;
            let secret =
                secret::load_or_create(&store.data_dir).map_err(|e| format!("signing secret: {e}"))?;
            let data_dir = store.data_dir.clone();
            let store = open_store(store).await?;
            let (reports, folder) =
                open_reports(reports, &data_dir, "http://127.0.0.1:3000", &secret).await?;
            let at = switchboard_shared::domain::now();
            let built = build_daily_report(store.as_ref(), reports.as_ref(), day, at)
                .await
                .map_err(|e| e.to_string())?;
            let place = match folder {
                Some(folder) => folder.dir().join(built.id.object_name()).display().to_string(),
                None => built.id.object_name(),
            };
            println!("built report {} ({} bytes): {place}", built.id, built.size_bytes);
            Ok(())
        }
        Command::SeedFixtures { store, reports } => {
            let secret =
                secret::load_or_create(&store.data_dir).map_err(|e| format!("signing secret: {e}"))?;
            let data_dir = store.data_dir.clone();
            let store = open_store(store).await?;
            switchboard_local::fixtures::seed(store.as_ref())
                .await
                .map_err(|e| format!("seeding the fixture world (is it seeded already?): {e}"))?;
            let (reports, _) = open_reports(reports, &data_dir, "http://127.0.0.1:3000", &secret).await?;
            switchboard_local::fixtures::seed_reports(reports.as_ref())
                .await
                .map_err(|e| format!("storing the fixture world's report: {e}"))?;
            println!("seeded the fixture world of events/README.md");
            Ok(())
        }
        Command::EmailInbound { file, gateway, store, s3_endpoint, attachments_bucket } => {
            let raw = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let secret =
                secret::load_or_create(&store.data_dir).map_err(|e| format!("signing secret: {e}"))?;
            let gateway = gateway.trim_end_matches('/');
            // The bucket `serve` keeps attachments in (the same data directory or server).
            let bucket = open_attachments(
                s3_endpoint.as_deref(),
                &attachments_bucket,
                &store.data_dir,
                gateway,
                &secret,
            )
            .await?;
            let attachment_limits = AttachmentLimits::from_env().map_err(|e| e.to_string())?;
            let app = App::new(open_store(store).await?, Arc::new(ApiGatewayRealtime::for_endpoint(gateway)))
                .with_attachment_objects(Arc::new(bucket))
                .with_attachment_limits(attachment_limits);
            let received = switchboard_local::mailbox::take_in_mail(&app, &raw)
                .await
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{received}");
            Ok(())
        }
        Command::EmailReport { file, store } => {
            let json = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            // A report posts nothing to connections: the gateway's address is never called.
            let realtime = Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:3000"));
            let app = App::new(open_store(store).await?, realtime);
            let reported = switchboard_local::mailbox::take_in_report(&app, &json)
                .await
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{reported}");
            Ok(())
        }
        Command::Rollup { from, to, store } => {
            let store = open_store(store).await?;
            let at = switchboard_shared::domain::now();
            match (from, to) {
                (Some(from), Some(to)) => {
                    let range =
                        Range::parse_days(Some(&from), Some(&to), at.date()).map_err(|e| e.to_string())?;
                    let totals = rollup::rollup_days(
                        store.as_ref(),
                        range.first_day(),
                        range.last_day(),
                        at,
                        &mut |progress| {
                            eprintln!(
                                "built {} ({}/{} days, {} events read)",
                                progress.day, progress.days_done, progress.days_total, progress.events_read
                            );
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    println!(
                        "{} days built: {} events, {} session histories read, {} items written",
                        totals.days, totals.events_read, totals.sessions, totals.items_written
                    );
                }
                _ => {
                    let report = rollup::run(store.as_ref(), at).await.map_err(|e| e.to_string())?;
                    for (day, reason) in &report.days {
                        eprintln!("built {day} ({reason:?})");
                    }
                    println!(
                        "{} days built: {} events, {} session histories read, {} items written",
                        report.totals.days,
                        report.totals.events_read,
                        report.totals.sessions,
                        report.totals.items_written
                    );
                }
            }
            Ok(())
        }
        Command::Openapi => {
            print!("{}", switchboard_local::openapi::json());
            Ok(())
        }
    }
}

/// Where attachments are kept: `<data dir>/attachments`, or `bucket` on the S3-compatible server
/// at `s3_endpoint`; their links lead to the gateway at `gateway_url`, signed with `secret`.
async fn open_attachments(
    s3_endpoint: Option<&str>,
    bucket: &str,
    data_dir: &std::path::Path,
    gateway_url: &str,
    secret: &str,
) -> Result<LocalBucket, String> {
    Ok(match s3_endpoint {
        Some(endpoint) => LocalBucket::Server(Arc::new(
            ServerBucket::open(endpoint, bucket, gateway_url, secret.as_bytes()).await?,
        )),
        None => LocalBucket::Folder(Arc::new(
            FolderAttachments::new(data_dir.join("attachments"), gateway_url, secret.as_bytes())
                .map_err(|e| e.to_string())?,
        )),
    })
}

/// The SQLite store of the data directory, or a table on a DynamoDB-compatible server.
async fn open_store(args: StoreArgs) -> Result<Arc<dyn ItemStore>, String> {
    Ok(open_store_and_feed(args).await?.0)
}

/// [`open_store`], and where its change feed is read from.
async fn open_store_and_feed(
    StoreArgs { data_dir, dynamodb_endpoint, table }: StoreArgs,
) -> Result<(Arc<dyn ItemStore>, FeedOf), String> {
    match dynamodb_endpoint {
        Some(endpoint) => {
            let client = dynamodb_client_for_endpoint(&endpoint).map_err(|e| e.to_string())?;
            let store = DynamoItemStore::new(client, table);
            store.ensure_table().await.map_err(|e| format!("DynamoDB at {endpoint}: {e}"))?;
            Ok((Arc::new(store.clone()), FeedOf::Stream { endpoint, store }))
        }
        None => {
            std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
            let path = data_dir.join("switchboard.db");
            let limits = SqliteLimits::from_env().map_err(|e| e.to_string())?;
            let store =
                SqliteItemStore::open_with(&path, limits).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((Arc::new(store.clone()), FeedOf::Sqlite(store)))
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are in place when this returns, so a signal sent
/// as soon as the address is printed is not lost (`tokio::signal::ctrl_c` would listen only
/// from its first poll, once the server runs).
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("listening for Ctrl-C: {e}"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("listening for SIGTERM: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
