//! The OpenAPI 3.1 document of the REST API, generated from the handlers' annotations; it is
//! served at `/api/v1/openapi.json` and kept in `docs/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Customer-support chat: sessions, messages, rooms, moderation, the agent dashboard, agent tools (status, canned responses, private notes) and notification preferences. \
Every route but the health probe, the widget's public routes (`/widget/...`) and the e-mails' unsubscribe link (`/email/unsubscribe`) needs `Authorization: Bearer <JWT>`; errors are `{\"error\":{\"code\",\"message\"}}`.",
        license(name = "Apache-2.0")
    ),
    servers((url = "/api/v1", description = "Relative to the API's base URL (stage URL in AWS)")),
    paths(
        switchboard_chat::create_session,
        switchboard_chat::list_sessions,
        switchboard_chat::get_session,
        switchboard_chat::update_session,
        switchboard_chat::close_session,
        switchboard_chat::reopen_session,
        switchboard_chat::rate_session,
        switchboard_chat::list_participants,
        switchboard_chat::mark_read,
        switchboard_chat::send_message,
        switchboard_chat::list_messages,
        switchboard_chat::edit_message,
        switchboard_chat::delete_message,
        switchboard_chat::block_user,
        switchboard_chat::unblock_user,
        switchboard_chat::list_blocked_users,
        switchboard_chat::list_rooms,
        switchboard_chat::create_room,
        switchboard_dashboard::assign_session,
        switchboard_dashboard::transfer_session,
        switchboard_dashboard::transcript,
        switchboard_agent::get_status,
        switchboard_agent::set_status,
        switchboard_agent::update_agent,
        switchboard_dashboard::overview,
        switchboard_dashboard::agent_performance,
        switchboard_dashboard::active_sessions,
        switchboard_dashboard::waiting_sessions,
        switchboard_dashboard::satisfaction,
        switchboard_dashboard::message_analytics,
        switchboard_dashboard::health,
        switchboard_dashboard::audit_log,
        switchboard_dashboard::failed_changes,
        switchboard_dashboard::replay_failed_change,
        switchboard_notifications::get_preferences,
        switchboard_notifications::put_preferences,
        switchboard_notifications::register_device,
        switchboard_notifications::unregister_device,
        switchboard_notifications::send,
        switchboard_notifications::bulk_send,
        switchboard_notifications::get_job,
        switchboard_notifications::list_delivery_logs,
        switchboard_chat::list_notes,
        switchboard_chat::create_note,
        switchboard_chat::edit_note,
        switchboard_agent::list_canned_responses,
        switchboard_agent::create_canned_response,
        switchboard_agent::update_canned_response,
        switchboard_agent::delete_canned_response,
        switchboard_agent::render_canned_response,
        switchboard_reports::start_backfill,
        switchboard_reports::get_backfill,
        switchboard_reports::daily_figures,
        switchboard_reports::conversations_csv,
        switchboard_reports::list,
        switchboard_reports::download,
        switchboard_widget::create_site,
        switchboard_widget::list_sites,
        switchboard_widget::get_site,
        switchboard_widget::update_site,
        switchboard_widget::rotate_site_secret,
        switchboard_widget::delete_site,
        switchboard_widget::site_settings,
        switchboard_widget::create_visitor,
        switchboard_widget::identify_user,
        switchboard_attachments::request_upload,
        switchboard_attachments::download_attachment,
        switchboard_email::unsubscribe_page,
        switchboard_email::unsubscribe,
        switchboard_email::list_session_emails,
    ),
    modifiers(&BearerAuth, &StoreUnavailable),
    security(("bearer" = [])),
    tags((name = "chat", description = "Sessions, messages, rooms and blocks"),
        (name = "dashboard", description = "The support floor: assignment, transfer, live lists, reports, health and the audit log"),
        (name = "notifications", description = "Push notifications: devices and preferences"),
        (name = "agent", description = "Agent tools: status and capacity, canned responses"),
        (name = "analytics", description = "Rollups of the event log, their backfill, and the reports read from them"),
        (name = "reports", description = "Reports for admins: the conversations CSV and the daily PDF reports"),
        (name = "widget", description = "The chat widget: sites for admins, and the public routes a site's pages call (no token; an Origin the site allows)"),
        (name = "attachments", description = "Files in conversations: uploaded straight to the bucket by a presigned POST, checked, downloaded by presigned GETs"),
        (name = "email", description = "Replies not read while away, by e-mail: the unsubscribe link every such e-mail carries, and what became of each e-mail"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// Every route answers 503 `store_unavailable` with `Retry-After` when the store does not answer
/// in time, cannot be reached or throttles (the health probe: 503 `degraded`): one response
/// added to each operation instead of one annotation on each handler.
struct StoreUnavailable;

impl Modify for StoreUnavailable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Content, Header, Ref, RefOr, ResponseBuilder};
        let mut retry_after = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
        retry_after.description = Some("seconds to wait before retrying".to_owned());
        let response = ResponseBuilder::new()
            .description(
                "the data store is unavailable (it timed out, could not be reached, throttled, or is locked); \
                 nothing was changed; retry after `Retry-After` seconds",
            )
            .header("Retry-After", retry_after.clone())
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                match operation
                    .responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| response.clone().into())
                {
                    RefOr::T(existing) => {
                        existing
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(|| retry_after.clone());
                    }
                    RefOr::Ref(_) => {}
                }
            }
        }
    }
}

/// The document, pretty-printed as in `docs/openapi.json`.
pub fn json() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}
