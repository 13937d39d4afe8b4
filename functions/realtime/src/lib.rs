//! WebSocket handlers, one per route of the WebSocket API (route key = the frame's `action`).
//! Each parses the frame, calls one operation — the same ones the REST handlers call — and
//! returns the reply frame; failures become `error` frames and the socket stays open.

use switchboard_shared::domain::{now, Role};
use switchboard_shared::lambda::{WsFunction, WsRequest, WsResult};
use switchboard_shared::ops::{self, live, MarkRead, SendMessage, Sent};
use switchboard_shared::realtime::frames::{
    MarkReadFrame, Ping, SendMessageFrame, ServerFrame, Subscribe, SubscribeDashboard, Typing,
};
use switchboard_shared::{cors, ws_function, ApiError, App};

ws_function!(
    /// `$connect`: registers the connection (the authorizer has checked `?token=`).
    CONNECT = "realtime-connect" => connect
);
ws_function!(
    /// `$disconnect`: forgets the connection.
    DISCONNECT = "realtime-disconnect" => disconnect
);
ws_function!(
    /// `$default`: frames whose `action` has no route.
    DEFAULT = "realtime-default" => default
);
ws_function!(
    /// `subscribe`
    SUBSCRIBE = "realtime-subscribe" => subscribe
);
ws_function!(
    /// `send_message`
    SEND_MESSAGE = "realtime-send-message" => send_message
);
ws_function!(
    /// `typing`
    TYPING = "realtime-typing" => typing
);
ws_function!(
    /// `mark_read`
    MARK_READ = "realtime-mark-read" => mark_read
);
ws_function!(
    /// `ping`
    PING = "realtime-ping" => ping
);
ws_function!(
    /// `subscribe_dashboard`
    SUBSCRIBE_DASHBOARD = "realtime-subscribe-dashboard" => subscribe_dashboard
);

/// Every WebSocket function of this crate.
pub const FUNCTIONS: &[WsFunction] =
    &[CONNECT, DISCONNECT, DEFAULT, SUBSCRIBE, SEND_MESSAGE, TYPING, MARK_READ, PING, SUBSCRIBE_DASHBOARD];

/// The actions that have a route (for the `$default` error's message).
pub const ACTIONS: &[&str] =
    &["subscribe", "subscribe_dashboard", "send_message", "typing", "mark_read", "ping"];

async fn connect(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    // Browsers send `Origin` on a WebSocket handshake too: a widget token from a page its site
    // does not allow is refused here, as on every REST route.
    ops::widget::check_widget_origin(app.store.as_ref(), &principal, cors::origin(&req.request)).await?;
    ops::presence::connect(app, &principal, req.connection_id).await?;
    Ok(None)
}

async fn disconnect(app: &App, req: WsRequest) -> WsResult {
    ops::presence::disconnect(app, &req.connection_id).await?;
    Ok(None)
}

async fn default(_app: &App, req: WsRequest) -> WsResult {
    let known = ACTIONS.join(", ");
    Err(match req.action {
        Some(action) => ApiError::bad_request(
            "unknown_action",
            format!("there is no action {action:?}; the actions are {known}"),
        ),
        None => {
            ApiError::bad_request("missing_action", format!("a frame needs an \"action\": one of {known}"))
        }
    })
}

async fn subscribe(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    let frame: Subscribe = req.payload()?;
    Ok(Some(ops::presence::subscribe(app, &principal, &req.connection_id, &frame.session_id).await?))
}

async fn subscribe_dashboard(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    ops::require_role(&principal, &[Role::Agent, Role::Admin], "watch the dashboard")?;
    let _: SubscribeDashboard = req.payload()?;
    Ok(Some(ops::dashboard::subscribe(app, &principal, &req.connection_id).await?))
}

async fn send_message(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    let frame: SendMessageFrame = req.payload()?;
    if frame.body.is_none() && frame.attachments.is_empty() {
        return Err(ApiError::unprocessable("invalid_frame", "missing field `body` (or `attachments`)"));
    }
    let input = SendMessage {
        session_id: frame.session_id,
        body: frame.body,
        client_message_id: frame.client_message_id,
        attachments: frame.attachments,
        channel: None,
    };
    let (message, delivered_to) = match live::send_message(app, &principal, &req.connection_id, input).await?
    {
        Sent::Created(message, delivered_to) => (message, delivered_to),
        Sent::Replayed(message) => (message, Vec::new()),
    };
    Ok(Some(ServerFrame::MessageCreated { message, delivered_to }))
}

async fn typing(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    let frame: Typing = req.payload()?;
    live::typing(app, &principal, &req.connection_id, frame).await?;
    Ok(None)
}

async fn mark_read(app: &App, req: WsRequest) -> WsResult {
    let principal = req.principal()?;
    let frame: MarkReadFrame = req.payload()?;
    let input = MarkRead { message_id: frame.message_id };
    ops::mark_read(app, &principal, &frame.session_id, input, Some(&req.connection_id)).await?;
    Ok(None)
}

async fn ping(_app: &App, req: WsRequest) -> WsResult {
    let _: Ping = req.payload()?;
    Ok(Some(ServerFrame::Pong { at: now() }))
}
