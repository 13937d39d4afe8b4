//! Reading an inbound e-mail reply: the headers the service routes it by, the text the customer
//! wrote, without the quoted history, the signature or the mobile sign-off, and the files they
//! attached. Bytes in, values out: no I/O, so every rule is tested against the raw messages real
//! clients send.

use std::collections::HashSet;

use mailparse::{DispositionType, MailAddr, MailHeader, MailHeaderMap, ParsedMail};

use crate::attachments::{AttachmentLimits, FileName, UploadRequest};

/// The most characters of [`InboundMail::text`]; a longer reply is cut there.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// What the service needs of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// `Message-ID`, without the angle brackets.
    pub message_id: Option<String>,
    /// The `From` address alone (no display name), lowercased; `None` if it cannot be read.
    pub from: Option<String>,
    /// Every address of `To`, `Cc`, `Delivered-To` and `X-Original-To`, lowercased, each once, in
    /// that order: the `reply+…` address the reply was routed by is among them.
    pub recipients: Vec<String>,
    /// The ids of `In-Reply-To`, then of `References`, without angle brackets, each once.
    pub in_reply_to: Vec<String>,
    /// `Subject`, decoded.
    pub subject: Option<String>,
    /// The new text the sender wrote ([`reply_text`]), at most [`MAX_TEXT_CHARS`] characters;
    /// empty when they sent files only.
    pub text: String,
    /// The attachment parts (files and images, not its text or HTML body), in order. Their bytes
    /// are the message's own, decoded: bounded by the message (SES takes up to 40 MB); the
    /// attachment limits choose which are kept when the reply is posted.
    pub attachments: Vec<InboundAttachment>,
}

/// A file attached to an inbound e-mail, as the message declares it.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    /// The part's file name (`Content-Disposition`'s `filename`, else `Content-Type`'s `name`),
    /// decoded, if it has one.
    pub file_name: Option<String>,
    /// The part's declared MIME type (`image/png`), lowercase, without parameters.
    pub content_type: String,
    /// The content, decoded from its transfer encoding; `None` when that encoding is broken.
    pub bytes: Option<Vec<u8>>,
}

// Bytes are long and not for logs: the size stands for them.
impl std::fmt::Debug for InboundAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundAttachment")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("size", &self.bytes.as_ref().map(Vec::len))
            .finish()
    }
}

/// One of an inbound e-mail's files the attachment limits allow, as the sender's upload: the name
/// people will see and the type it is declared as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToKeep<'m> {
    /// The file's name ([`InboundAttachment::file_name`] made a valid one).
    pub file_name: FileName,
    /// Its type, as an upload would declare it.
    pub content_type: String,
    /// Its content.
    pub bytes: &'m [u8],
}

/// One of an inbound e-mail's files left out, and why: `unreadable` (its encoding is broken),
/// `too_many_attachments` (beyond what a message carries), or the code an upload of it is refused
/// with (`attachment_type_forbidden`, `attachment_type_not_allowed`, `attachment_empty`,
/// `attachment_too_large`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut<'m> {
    /// The file.
    pub file: &'m InboundAttachment,
    /// Why.
    pub reason: &'static str,
}

impl InboundMail {
    /// The files `limits` allow as one message's attachments, in order (at most as many as a
    /// message carries), and those left out with why.
    pub fn files_to_keep(&self, limits: &AttachmentLimits) -> (Vec<FileToKeep<'_>>, Vec<LeftOut<'_>>) {
        let (mut kept, mut left_out) = (Vec::new(), Vec::new());
        for (index, file) in self.attachments.iter().enumerate() {
            let Some(bytes) = file.bytes.as_deref() else {
                left_out.push(LeftOut { file, reason: "unreadable" });
                continue;
            };
            let file_name = upload_name(file.file_name.as_deref(), index);
            let content_type = declared_type(file);
            let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
            let request =
                UploadRequest { file_name: file_name.clone(), content_type: content_type.clone(), size };
            match request.check(limits) {
                Ok(_) if kept.len() == limits.per_message => {
                    left_out.push(LeftOut { file, reason: "too_many_attachments" })
                }
                Ok(_) => kept.push(FileToKeep { file_name, content_type, bytes }),
                Err(refusal) => left_out.push(LeftOut { file, reason: refusal.code() }),
            }
        }
        (kept, left_out)
    }
}

/// A file's type as an upload would declare it: its part's, or for a part sent as
/// `application/octet-stream` (many mailers send any file so), the one its name ends in.
fn declared_type(file: &InboundAttachment) -> String {
    const BY_ENDING: [(&str, &str); 10] = [
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".gif", "image/gif"),
        (".webp", "image/webp"),
        (".pdf", "application/pdf"),
        (".txt", "text/plain"),
        (".csv", "text/csv"),
        (".log", "text/x-log"),
        (".zip", "application/zip"),
    ];
    let name = file.file_name.as_deref().unwrap_or_default().to_ascii_lowercase();
    let guessed = BY_ENDING.iter().find(|(ending, _)| name.ends_with(ending)).map(|(_, mime)| *mime);
    match (file.content_type.as_str(), guessed) {
        ("application/octet-stream", Some(mime)) => mime.to_owned(),
        (declared, _) => declared.to_owned(),
    }
}

/// A file's name as people will see it: the mailer's, the characters a file name may not hold
/// made `_`, cut to its length; `attachment-<n>` when it has none that is valid.
fn upload_name(name: Option<&str>, index: usize) -> FileName {
    let cleaned = name.and_then(|name| {
        let name: String = name
            .chars()
            .map(|c| if c.is_control() || matches!(c, '/' | '\\' | '"') { '_' } else { c })
            .take(FileName::MAX_CHARS)
            .collect();
        FileName::parse(&name).ok()
    });
    cleaned.unwrap_or_else(|| FileName::numbered("attachment", index + 1))
}

/// Why an inbound e-mail gave nothing to post.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// Not an e-mail that can be read: empty, without a `From`, or a body whose encoding is broken.
    #[error("the e-mail is unreadable: {0}")]
    Unreadable(String),
    /// No text of the sender's own (no text part, or nothing but quoted history and a signature)
    /// and no file either.
    #[error("the e-mail has no text of the sender's own")]
    NoText,
}

/// Reads a raw RFC 5322 message: its routing headers, its attachments and the text the sender
/// wrote (the `text/plain` body if there is one, else the HTML body as text), through
/// [`reply_text`] and cut at [`MAX_TEXT_CHARS`]. A message of files alone has an empty text; one
/// with neither is [`InboundError::NoText`].
pub fn parse(raw: &[u8]) -> Result<InboundMail, InboundError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(InboundError::Unreadable("the message is empty".into()));
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| InboundError::Unreadable(e.to_string()))?;
    let headers = &mail.headers;
    // mailparse reads any bytes as headers; From is the one field RFC 5322 requires that a
    // reply cannot do without, so a message without it is not taken for an e-mail.
    let from = headers
        .get_first_header("From")
        .ok_or_else(|| InboundError::Unreadable("the message has no From header".into()))?;

    let mut parts = Vec::new();
    text_parts(&mail, &mut parts);
    let mut broken = None;
    let mut text = String::new();
    for (part, kind) in parts {
        let body = match part_text(part) {
            Ok(body) => body,
            Err(e) => {
                broken.get_or_insert(e);
                continue;
            }
        };
        let body = match kind {
            TextKind::Plain => plain_text(part, &body),
            TextKind::Html => html_text(&body),
        };
        text = capped(reply_text(&body));
        // An empty text/plain alternative (some clients send one) must not hide the HTML one.
        if !text.is_empty() {
            break;
        }
    }
    let attachments: Vec<InboundAttachment> =
        mail.parts().filter(|part| is_attachment(part)).map(attachment).collect();
    if text.is_empty() {
        // A text part that could not be read may have said something: not taken for files alone.
        if let Some(broken) = broken {
            return Err(broken);
        }
        if attachments.is_empty() {
            return Err(InboundError::NoText);
        }
    }

    Ok(InboundMail {
        message_id: headers.get_first_value("Message-ID").and_then(|v| message_ids(&v).into_iter().next()),
        from: addresses(from).into_iter().next(),
        recipients: unique(
            ["To", "Cc", "Delivered-To", "X-Original-To"]
                .into_iter()
                .flat_map(|name| headers.get_all_headers(name))
                .flat_map(addresses),
        ),
        in_reply_to: unique(
            ["In-Reply-To", "References"]
                .into_iter()
                .flat_map(|name| headers.get_all_values(name))
                .flat_map(|value| message_ids(&value)),
        ),
        subject: headers.get_first_value("Subject").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        text,
        attachments,
    })
}

/// An attachment part as a file: its name, declared type and decoded bytes.
fn attachment(part: &ParsedMail) -> InboundAttachment {
    let disposition = part.get_content_disposition();
    let file_name = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    InboundAttachment {
        file_name,
        content_type: part.ctype.mimetype.to_ascii_lowercase(),
        bytes: part.get_body_raw().ok(),
    }
}

/// The new text of a reply's body: the body up to its quoted history (an "On … wrote:" line
/// followed by a quote, an Outlook separator or header block, a `-- ` signature line), without
/// trailing `>` lines and "Sent from my iPhone"-style sign-offs. Line breaks become LF, lines lose
/// trailing whitespace, runs of more than two blank lines become two, and the whole is trimmed.
/// A bottom-posted reply (the quote first, the new text after it) keeps the text after the quote.
pub fn reply_text(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = body.split('\n').map(str::trim_end).collect();
    let mut kept = above_history(&lines).to_vec();
    drop_trailing_quote_and_sign_off(&mut kept);
    if kept.is_empty() {
        // Nothing above the history: either a bare quote (no text at all) or a bottom-posted reply,
        // whose text follows the quote; without the quote the two are told apart.
        let unquoted = without_quotes(&lines);
        kept = above_history(&unquoted).to_vec();
        drop_trailing_quote_and_sign_off(&mut kept);
    }
    tidy(&kept)
}

/// Whether a body part is a text the sender wrote, and which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TextKind {
    Plain,
    Html,
}

/// The text parts of `part`, the most wanted first: of a `multipart/alternative`, the plain
/// ones before the HTML ones; of any other multipart, in order.
fn text_parts<'m, 'r>(part: &'m ParsedMail<'r>, found: &mut Vec<(&'m ParsedMail<'r>, TextKind)>) {
    let mimetype = part.ctype.mimetype.as_str();
    if mimetype == "multipart/alternative" {
        let mut alternatives = Vec::new();
        for subpart in &part.subparts {
            text_parts(subpart, &mut alternatives);
        }
        // Stable: the order of the parts within each kind is kept.
        alternatives.sort_by_key(|(_, kind)| *kind);
        found.extend(alternatives);
    } else if mimetype.starts_with("multipart/") {
        for subpart in &part.subparts {
            text_parts(subpart, found);
        }
    } else if !is_attachment(part) {
        match mimetype {
            "text/plain" => found.push((part, TextKind::Plain)),
            "text/html" => found.push((part, TextKind::Html)),
            _ => {}
        }
    }
}

/// Signatures of `multipart/signed` messages: part of the message's envelope, not a file the
/// sender attached.
const SIGNATURE_TYPES: [&str; 3] =
    ["application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"];

/// A leaf part that is a file: marked as an attachment, named (Apple Mail sends inline images
/// with a file name), or of a type that is not a text body.
fn is_attachment(part: &ParsedMail) -> bool {
    let mimetype = part.ctype.mimetype.as_str();
    if mimetype.starts_with("multipart/") || SIGNATURE_TYPES.contains(&mimetype) {
        return false;
    }
    let disposition = part.get_content_disposition();
    disposition.disposition == DispositionType::Attachment
        || disposition.params.contains_key("filename")
        || part.ctype.params.contains_key("name")
        || !matches!(mimetype, "text/plain" | "text/html")
}

/// The decoded text of a part. mailparse reads an undeclared (or US-ASCII) charset as
/// Windows-1252, which garbles the UTF-8 that mailers send undeclared; valid UTF-8 is read as such.
fn part_text(part: &ParsedMail) -> Result<String, InboundError> {
    let unreadable = |e: mailparse::MailParseError| InboundError::Unreadable(format!("the text part: {e}"));
    let declared = part.ctype.params.get("charset").map(|c| c.to_ascii_lowercase());
    if matches!(declared.as_deref(), None | Some("us-ascii" | "ascii")) {
        if let Ok(text) = String::from_utf8(part.get_body_raw().map_err(unreadable)?) {
            return Ok(text);
        }
    }
    part.get_body().map_err(unreadable)
}

/// A `text/plain` body as lines of text: a `format=flowed` body (RFC 3676) has its soft line
/// breaks joined, so a paragraph is one line, as the sender typed it.
fn plain_text(part: &ParsedMail, body: &str) -> String {
    let param = |name: &str| part.ctype.params.get(name).map(|v| v.to_ascii_lowercase());
    if param("format").as_deref() == Some("flowed") {
        unflow(body, param("delsp").as_deref() == Some("yes"))
    } else {
        body.to_owned()
    }
}

/// Joins the soft line breaks of a `format=flowed` body: a line ending in a space goes on with the
/// next line of the same quote depth (without that space if `delsp`). Quoted lines come out as
/// `> ` (one `>` per depth), space-stuffing is removed, and the `-- ` signature line stays a line.
fn unflow(body: &str, delsp: bool) -> String {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut continues = false;
    for line in body.lines() {
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        let flowed = content.ends_with(' ') && content != "-- ";
        let piece = if flowed && delsp { &content[..content.len() - 1] } else { content };
        match lines.last_mut() {
            Some((last_depth, text)) if continues && *last_depth == depth => text.push_str(piece),
            _ => lines.push((depth, piece.to_owned())),
        }
        continues = flowed;
    }
    lines
        .into_iter()
        .map(|(depth, text)| if depth == 0 { text } else { format!("{} {text}", ">".repeat(depth)) })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines before the first that starts the quoted history (all of them if none does).
fn above_history<'s, 'l>(lines: &'s [&'l str]) -> &'s [&'l str] {
    let end = (0..lines.len()).find(|&i| history_starts(&lines[i..])).unwrap_or(lines.len());
    &lines[..end]
}

/// Whether the quoted history starts at the first of `lines`.
fn history_starts(lines: &[&str]) -> bool {
    let line = lines[0].trim();
    // "-- " is the signature separator; HTML and many clients drop its trailing space.
    line == "--"
        // Outlook's plain-text separator above the original's headers.
        || (line.len() >= 10 && line.bytes().all(|b| b == b'_'))
        || is_original_message(line)
        || is_header_block(lines)
        || attribution(lines).is_some()
}

/// Outlook's and older clients' "-----Original Message-----" line, in a few languages.
fn is_original_message(line: &str) -> bool {
    const NAMES: [&str; 4] =
        ["original message", "message d'origine", "mensaje original", "ursprüngliche nachricht"];
    line.starts_with("--") && NAMES.contains(&line.trim_matches(['-', ' ']).to_lowercase().as_str())
}

/// Outlook's header block of the message replied to: a "From:" line with a "Sent:" (or "Date:")
/// and a "To:" (or "Subject:") line among the next few, in English, French, Spanish or German.
fn is_header_block(lines: &[&str]) -> bool {
    const FROM: [&str; 3] = ["from", "de", "von"];
    const SENT: [&str; 8] = ["sent", "date", "envoyé", "enviado", "enviado el", "fecha", "gesendet", "datum"];
    const TO: [&str; 10] = ["to", "subject", "cc", "à", "a", "para", "an", "objet", "asunto", "betreff"];
    if !field_name(lines[0]).is_some_and(|name| FROM.contains(&name.as_str())) {
        return false;
    }
    let names: Vec<String> = lines[1..]
        .iter()
        .take(5)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| field_name(line))
        .collect();
    names.iter().any(|name| SENT.contains(&name.as_str()))
        && names.iter().any(|name| TO.contains(&name.as_str()))
}

/// The lowercased name of a "Name: value" line, also in the bold forms "*Name:*" and "*Name*:" that
/// plain-text versions of HTML mail carry.
fn field_name(line: &str) -> Option<String> {
    let (name, _) = line.trim_start().trim_start_matches('*').split_once(':')?;
    let name = name.trim().trim_end_matches('*').trim();
    (!name.is_empty() && name.chars().count() <= 12).then(|| name.to_lowercase())
}

/// If `lines` start with an attribution ("On Mon, 7 Dec 2026 at 10:00, Shop <support@shop.example>
/// wrote:", over up to three lines as clients wrap it), how many lines it takes. It counts as the
/// start of the history only if it names an address or a quote (or nothing) follows it, so a
/// customer's own "On Monday your colleague wrote:" followed by their text is kept.
fn attribution(lines: &[&str]) -> Option<usize> {
    const STARTS: [&str; 4] = ["On ", "El ", "Le ", "Am "];
    if !STARTS.iter().any(|start| lines[0].trim_start().starts_with(start)) {
        return None;
    }
    let mut joined = String::new();
    for (n, line) in lines.iter().take(3).enumerate() {
        let line = line.trim();
        if n > 0 && (line.is_empty() || is_quoted(line)) {
            return None;
        }
        joined.push(' ');
        joined.push_str(line);
        if is_attribution(&joined) {
            let span = n + 1;
            let quote_follows =
                lines[span..].iter().find(|line| !line.trim().is_empty()).is_none_or(|line| is_quoted(line));
            return (joined.contains('@') || quote_follows).then_some(span);
        }
    }
    None
}

/// Whether one (joined) line is an attribution: English, Spanish, French (Gmail's, Apple Mail's,
/// Thunderbird's) or German. Whitespace is normalised first: Gmail writes a no-break space before
/// the colon of "a écrit :".
fn is_attribution(line: &str) -> bool {
    const FORMS: [(&str, &str); 4] =
        [("On ", " wrote:"), ("El ", " escribió:"), ("Le ", " a écrit :"), ("Le ", " a écrit:")];
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    FORMS.iter().any(|(start, end)| line.starts_with(start) && line.ends_with(end))
        || (line.starts_with("Am ") && line.contains(" schrieb ") && line.ends_with(':'))
}

/// A line of a quote: it starts with `>`.
fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// A mobile client's sign-off line ("Sent from my iPhone", "Get Outlook for iOS"); short, so a
/// sentence of the customer's that happens to start the same way is kept.
fn is_sign_off(line: &str) -> bool {
    const STARTS: [&str; 7] = [
        "Sent from my ",
        "Sent from Outlook",
        "Sent from Mail for Windows",
        "Sent from Yahoo Mail",
        "Get Outlook for ",
        "Envoyé de mon ",
        "Enviado desde mi ",
    ];
    let line = line.trim();
    line.chars().count() <= 80
        && (STARTS.iter().any(|start| line.starts_with(start))
            || (line.starts_with("Von meinem ") && line.ends_with(" gesendet")))
}

/// Drops what ends a reply but is not its text: blank lines, trailing quoted lines, sign-offs.
fn drop_trailing_quote_and_sign_off(lines: &mut Vec<&str>) {
    while let Some(last) = lines.last() {
        if last.trim().is_empty() || is_quoted(last) || is_sign_off(last) {
            lines.pop();
        } else {
            break;
        }
    }
}

/// The lines without attributions and quoted lines: what a bottom-posted reply adds.
fn without_quotes<'l>(lines: &[&'l str]) -> Vec<&'l str> {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(span) = attribution(&lines[i..]) {
            i += span;
        } else {
            if !is_quoted(lines[i]) {
                kept.push(lines[i]);
            }
            i += 1;
        }
    }
    kept
}

/// The lines as text: at most two blank lines in a row, trimmed.
fn tidy(lines: &[&str]) -> String {
    let mut text = String::new();
    let mut blanks = 0;
    for line in lines {
        blanks = if line.is_empty() { blanks + 1 } else { 0 };
        if blanks <= 2 {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.trim().to_owned()
}

/// `text` cut at [`MAX_TEXT_CHARS`] characters.
fn capped(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => text[..end].trim_end().to_owned(),
        None => text,
    }
}

/// The addresses of one address header, lowercased; a group's members count. A header that
/// mailparse cannot read gives none: the other headers' addresses still count.
fn addresses(header: &MailHeader) -> Vec<String> {
    let Ok(list) = mailparse::addrparse_header(header) else {
        return Vec::new();
    };
    list.iter()
        .flat_map(|addr| match addr {
            MailAddr::Single(single) => vec![single.addr.trim().to_lowercase()],
            MailAddr::Group(group) => {
                group.addrs.iter().map(|single| single.addr.trim().to_lowercase()).collect()
            }
        })
        .collect()
}

/// The ids of a `Message-ID`, `In-Reply-To` or `References` value, without angle brackets. The
/// brackets delimit them (comments between are skipped); a value without any (some mailers
/// write one bare id) is read as whitespace-separated ids.
fn message_ids(value: &str) -> Vec<String> {
    if !value.contains('<') {
        return value.split_whitespace().map(str::to_owned).collect();
    }
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let id = after[..end].trim();
        if !id.is_empty() {
            ids.push(id.to_owned());
        }
        rest = &after[end + 1..];
    }
    ids
}

/// `items` without repeats, in the order of their first appearance.
fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|item| seen.insert(item.clone())).collect()
}

/// Elements whose content is not text: skipped to their end tag.
const RAW_TEXT_ELEMENTS: [&str; 3] = ["style", "script", "title"];

/// Elements that start and end a line.
const BLOCK_ELEMENTS: [&str; 23] = [
    "address", "article", "center", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr",
];

/// Classes that mark where webmail puts the quoted message (Gmail, Yahoo, Thunderbird's
/// attribution line).
const HISTORY_CLASSES: [&str; 3] = ["gmail_quote", "yahoo_quoted", "moz-cite-prefix"];

/// Ids that mark where Outlook puts the quoted message (`appendonsend` comes first in Outlook on
/// the web, `divRplyFwdMsg` holds the original's headers).
const HISTORY_IDS: [&str; 2] = ["divRplyFwdMsg", "appendonsend"];

/// The text of an HTML body, up to the quoted history: tags dropped, entities decoded, `<br>`,
/// `</p>` and block elements as line breaks, blockquotes' contents dropped, and everything from
/// Gmail's, Outlook's, Yahoo's, Thunderbird's or Apple Mail's quote on dropped.
fn html_text(html: &str) -> String {
    // Lowercase ASCII keeps every byte offset, so end tags are found in it and cut from `html`.
    let lower = html.to_ascii_lowercase();
    let mut text = String::new();
    let mut quote_depth = 0usize;
    let mut pos = 0;
    loop {
        let Some(offset) = html[pos..].find('<') else {
            if quote_depth == 0 {
                push_text(&mut text, &html[pos..]);
            }
            break;
        };
        let start = pos + offset;
        if quote_depth == 0 {
            push_text(&mut text, &html[pos..start]);
        }
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            pos = html[start + 4..].find("-->").map_or(html.len(), |end| start + 4 + end + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            pos = rest.find('>').map_or(html.len(), |end| start + end + 1);
            continue;
        }
        let Some(tag) = read_tag(rest) else {
            if quote_depth == 0 {
                push_text(&mut text, "<");
            }
            pos = start + 1;
            continue;
        };
        pos = start + tag.len;
        let name = tag.name.as_str();
        if !tag.closing && RAW_TEXT_ELEMENTS.contains(&name) {
            let end_tag = format!("</{name}");
            pos = lower[pos..]
                .find(&end_tag)
                .and_then(|end| lower[pos + end..].find('>').map(|close| pos + end + close + 1))
                .unwrap_or(html.len());
            continue;
        }
        if name == "blockquote" {
            if tag.closing {
                quote_depth = quote_depth.saturating_sub(1);
            } else if quote_depth == 0
                && tag.attribute("type").is_some_and(|t| t.eq_ignore_ascii_case("cite"))
            {
                // Apple Mail's (and Thunderbird's) quote of the message replied to: all after is history.
                break;
            } else {
                if quote_depth == 0 {
                    line_break(&mut text);
                }
                quote_depth += 1;
            }
            continue;
        }
        if quote_depth > 0 {
            continue;
        }
        if !tag.closing && starts_history(&tag) {
            break;
        }
        match name {
            "br" => text.push('\n'),
            "p" if tag.closing => text.push('\n'),
            "td" | "th" if tag.closing && !text.is_empty() && !text.ends_with([' ', '\n']) => text.push(' '),
            _ if BLOCK_ELEMENTS.contains(&name) => line_break(&mut text),
            _ => {}
        }
    }
    text
}

/// Whether an opening tag starts a webmail's quoted history.
fn starts_history(tag: &Tag) -> bool {
    tag.attribute("class")
        .is_some_and(|class| class.split_ascii_whitespace().any(|c| HISTORY_CLASSES.contains(&c)))
        || tag.attribute("id").is_some_and(|id| HISTORY_IDS.iter().any(|h| h.eq_ignore_ascii_case(id.trim())))
}

/// Ends the current line of `text`, if one is started.
fn line_break(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// One HTML tag.
struct Tag<'h> {
    /// The element's name, lowercased.
    name: String,
    /// An end tag (`</p>`).
    closing: bool,
    /// Its attributes: lowercased names, raw values.
    attributes: Vec<(String, &'h str)>,
    /// Its length in bytes, `<` to `>`.
    len: usize,
}

impl Tag<'_> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, value)| *value)
    }
}

/// The tag at the start of `html` (which starts with `<`), or `None` if that `<` starts no tag (a
/// `<` in text). A tag that never ends runs to the end of `html`, as in a browser.
fn read_tag(html: &str) -> Option<Tag<'_>> {
    let bytes = html.as_bytes();
    let closing = bytes.get(1) == Some(&b'/');
    let name_start = if closing { 2 } else { 1 };
    if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    // Names and attributes stop at ASCII bytes only, so every slice below is on a char boundary.
    let is_name = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_');
    let name_end = name_start + bytes[name_start..].iter().take_while(|b| is_name(b)).count();
    let mut tag = Tag {
        name: html[name_start..name_end].to_ascii_lowercase(),
        closing,
        attributes: Vec::new(),
        len: html.len(),
    };
    let skip_spaces = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut i = name_end;
    loop {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace() || *b == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return Some(tag),
            Some(b'>') => {
                tag.len = i + 1;
                return Some(tag);
            }
            Some(_) => {}
        }
        let attribute_start = i;
        while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/')) {
            i += 1;
        }
        let attribute = html[attribute_start..i].to_ascii_lowercase();
        i = skip_spaces(i);
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i = skip_spaces(i + 1);
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let value_start = i + 1;
                    let value_end = bytes[value_start..]
                        .iter()
                        .position(|&b| b == quote)
                        .map_or(bytes.len(), |p| value_start + p);
                    value = &html[value_start..value_end];
                    i = (value_end + 1).min(bytes.len());
                }
                _ => {
                    let value_start = i;
                    while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>') {
                        i += 1;
                    }
                    value = &html[value_start..i];
                }
            }
        }
        tag.attributes.push((attribute, value));
    }
}

/// Appends HTML text: entities decoded, runs of whitespace as one space (none at a line's start),
/// no-break spaces as spaces.
fn push_text(text: &mut String, raw: &str) {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        rest[..amp].chars().for_each(|c| push_char(text, c));
        let after = &rest[amp + 1..];
        match entity(after) {
            Some((c, len)) => {
                push_char(text, c);
                rest = &after[len..];
            }
            None => {
                push_char(text, '&');
                rest = after;
            }
        }
    }
    rest.chars().for_each(|c| push_char(text, c));
}

fn push_char(text: &mut String, c: char) {
    if c.is_ascii_whitespace() {
        if !text.is_empty() && !text.ends_with([' ', '\n']) {
            text.push(' ');
        }
    } else if c == '\u{a0}' {
        text.push(' ');
    } else {
        text.push(c);
    }
}

/// Named entities that mail clients write; any other is left as written.
const ENTITIES: [(&str, char); 36] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("hellip", '…'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("bull", '•'),
    ("middot", '·'),
    ("euro", '€'),
    ("pound", '£'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("deg", '°'),
    ("times", '×'),
    ("aacute", 'á'),
    ("agrave", 'à'),
    ("auml", 'ä'),
    ("ccedil", 'ç'),
    ("eacute", 'é'),
    ("egrave", 'è'),
    ("ecirc", 'ê'),
    ("iacute", 'í'),
    ("ntilde", 'ñ'),
    ("oacute", 'ó'),
    ("ouml", 'ö'),
    ("uuml", 'ü'),
];

/// The entity at the start of `after` (the text after a `&`): its character and its length up to
/// and with its `;`. A numeric one that names no character (or NUL) is U+FFFD, as in a browser.
fn entity(after: &str) -> Option<(char, usize)> {
    let end = after.bytes().take(32).position(|b| b == b';')?;
    let name = &after[..end];
    let c = match name.strip_prefix('#') {
        Some(number) => {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{fffd}')
        }
        None => ENTITIES.iter().find(|(entity, _)| *entity == name)?.1,
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY_ADDRESS: &str = "reply+01m97abcdefghjkmnpqrstvwxy.sig@in.shop.example";
    const SHOPS_MESSAGE_ID: &str = "01M97ABCDEFGHJKMNPQRSTVWXY@shop.example";

    fn fixture(raw: &[u8]) -> InboundMail {
        parse(raw).unwrap()
    }

    /// The body of the first part of `raw` of the given type, decoded: to read an HTML alternative
    /// that `parse` passes over for the plain one.
    fn part_of(raw: &[u8], mimetype: &str) -> String {
        let mail = mailparse::parse_mail(raw).unwrap();
        let part = mail.parts().find(|part| part.ctype.mimetype == mimetype).unwrap();
        part.get_body().unwrap()
    }

    const GMAIL: &[u8] = include_bytes!("../../../tests/fixtures/email/gmail.eml");
    const OUTLOOK: &[u8] = include_bytes!("../../../tests/fixtures/email/outlook.eml");
    const APPLE_MAIL: &[u8] = include_bytes!("../../../tests/fixtures/email/apple-mail.eml");
    const ATTACHMENT: &[u8] = include_bytes!("../../../tests/fixtures/email/attachment.eml");
    const LATIN1: &[u8] = include_bytes!("../../../tests/fixtures/email/latin1.eml");
    const BASE64: &[u8] = include_bytes!("../../../tests/fixtures/email/base64.eml");

    const GMAIL_TEXT: &str =
        "Hi,\n\nThe parcel arrived today but the mug inside is broken — the handle came off. \
The box even said \"FRAGILE -> handle with care\" on it.\n\nCould you send a replacement? Order #A-10442.\n\n\
Thanks,\nAda";

    const OUTLOOK_TEXT: &str = "Hello,\n\nI still haven't received the refund for order #A-10442. It has been 14 \
days & the tracking page says \"returned to sender\".\n\nCould you check, please?\n\nBest regards,\nGrace Hopper";

    #[test]
    fn a_gmail_reply_gives_the_new_text_without_the_quote() {
        let mail = fixture(GMAIL);

        assert_eq!(mail.text, GMAIL_TEXT);
        assert_eq!(mail.from.as_deref(), Some("ada.lovelace@gmail.com"));
        assert_eq!(mail.recipients, [REPLY_ADDRESS]);
        assert_eq!(
            mail.message_id.as_deref(),
            Some("CAJ8x2Fq7Vd3hP0mYkS=tq9uW_4a1n5Qx+Lr0eZg@mail.gmail.com")
        );
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
        assert_eq!(mail.subject.as_deref(), Some("Re: Your conversation with Shop"));
        assert_eq!(mail.attachments, []);
    }

    #[test]
    fn a_gmail_replys_html_part_gives_the_same_text_as_its_plain_part() {
        let html = part_of(GMAIL, "text/html");

        assert!(html.contains("gmail_quote"));
        assert_eq!(reply_text(&html_text(&html)), GMAIL_TEXT);
    }

    #[test]
    fn an_outlook_reply_gives_the_new_text_without_the_original_and_its_headers() {
        let mail = fixture(OUTLOOK);

        assert_eq!(mail.text, OUTLOOK_TEXT);
        assert_eq!(mail.from.as_deref(), Some("grace.hopper@contoso.example"));
        assert_eq!(mail.recipients, [REPLY_ADDRESS, "accounts@contoso.example"]);
        assert_eq!(
            mail.message_id.as_deref(),
            Some("AM9PR07MB7265C1A2B3D4E5F6A7B8C9D0E1F2A3B4@AM9PR07MB7265.eurprd07.prod.outlook.com")
        );
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
        assert_eq!(mail.attachments, []);
    }

    #[test]
    fn an_outlook_replys_html_part_gives_the_same_text_as_its_plain_part() {
        let html = part_of(OUTLOOK, "text/html");

        assert!(html.contains("divRplyFwdMsg"));
        assert_eq!(reply_text(&html_text(&html)), OUTLOOK_TEXT);
    }

    #[test]
    fn an_apple_mail_reply_in_format_flowed_gives_its_paragraphs_unwrapped_without_the_quote() {
        let mail = fixture(APPLE_MAIL);

        assert_eq!(
            mail.text,
            "Hi there,\n\nYes, please cancel the second item (the blue scarf) and refund it to my card. I’d still \
like the first one — the gloves — to be sent as planned.\n\nCould you confirm once it’s done?\n\n\
Many thanks,\nGrace"
        );
        assert_eq!(mail.from.as_deref(), Some("grace.kelly@icloud.com"));
        assert_eq!(mail.recipients, [REPLY_ADDRESS]);
        assert_eq!(mail.message_id.as_deref(), Some("5F0C2B8E-3D1A-4C77-9E61-2A8B4D6F1C90@icloud.com"));
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
    }

    #[test]
    fn a_reply_with_a_photo_and_a_pdf_keeps_both_files_and_its_text() {
        let mail = fixture(ATTACHMENT);

        assert_eq!(mail.text, "Here is a photo of the damaged box, and the delivery note the courier left.");
        let files: Vec<(Option<&str>, &str, bool)> = mail
            .attachments
            .iter()
            .map(|file| (file.file_name.as_deref(), file.content_type.as_str(), file.bytes.is_some()))
            .collect();
        assert_eq!(
            files,
            [
                (Some("IMG_20261207_101512.jpg"), "image/jpeg", true),
                (Some("delivery-note.pdf"), "application/pdf", true)
            ]
        );
        let jpeg = mail.attachments[0].bytes.as_deref().unwrap_or_default();
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "the photo's bytes, decoded from base64");
        assert!(mail.attachments[1].bytes.as_deref().unwrap_or_default().starts_with(b"%PDF-"));
        assert_eq!(mail.from.as_deref(), Some("charles.babbage@gmail.com"));
        assert_eq!(mail.recipients, [REPLY_ADDRESS, "ada.lovelace@gmail.com"]);
        assert_eq!(
            mail.message_id.as_deref(),
            Some("CAHx8mQ2rT5vW8yZ1bD4fG7jK0mP3sV6xA9cE2hL5nR8uY1@mail.gmail.com")
        );
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
    }

    #[test]
    fn an_iso_8859_1_reply_is_decoded_and_cut_at_the_french_attribution() {
        let mail = fixture(LATIN1);

        assert_eq!(
            mail.text,
            "Bonjour,\n\nMerci pour votre réponse. Le colis est bien arrivé, mais il manque la housse de coussin \
(référence HC-204). Pouvez-vous me l'envoyer ?\n\nBien cordialement,\nÉtienne Lefèvre"
        );
        assert_eq!(mail.subject.as_deref(), Some("Re: Votre échange avec Shop"));
        assert_eq!(mail.from.as_deref(), Some("etienne.lefevre@laposte.example"));
        // To, Delivered-To and X-Original-To name the same address: it is listed once.
        assert_eq!(mail.recipients, [REPLY_ADDRESS]);
        assert_eq!(mail.message_id.as_deref(), Some("3b7c9e2a-5d41-4f0b-9a6e-1c2d3e4f5a6b@laposte.example"));
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
    }

    #[test]
    fn a_base64_html_only_reply_is_decoded_and_cut_at_outlooks_quote_and_sign_off() {
        let mail = fixture(BASE64);

        assert_eq!(
            mail.text,
            "Thursday works for me — I’ll be home between 9 and 12. The courier can leave it with my neighbour at \
no. 14 if I miss them 👍"
        );
        assert_eq!(mail.from.as_deref(), Some("alan.turing@outlook.example"));
        assert_eq!(mail.recipients, [REPLY_ADDRESS]);
        assert_eq!(
            mail.message_id.as_deref(),
            Some("DB9PR02MB9753E4F5A6B7C8D9E0F1A2B3C4D5E6F7@DB9PR02MB9753.eurprd02.prod.outlook.com")
        );
        assert_eq!(mail.in_reply_to, [SHOPS_MESSAGE_ID]);
    }

    #[test]
    fn empty_input_is_unreadable() {
        for raw in [&b""[..], b"\r\n\r\n  "] {
            assert!(matches!(parse(raw), Err(InboundError::Unreadable(_))), "{raw:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_an_email_are_unreadable() {
        for raw in [
            &b"\x00\x01\x02\xff\xfe not an e-mail"[..],
            b"Hello,\r\n\r\nwhere is my order?",
            b" leading space",
        ] {
            assert!(matches!(parse(raw), Err(InboundError::Unreadable(_))), "{raw:?}");
        }
    }

    #[test]
    fn a_text_part_whose_base64_is_broken_is_unreadable() {
        let raw = b"From: ada@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ****\r\n";

        assert!(matches!(parse(raw), Err(InboundError::Unreadable(_))));
    }

    #[test]
    fn a_reply_that_is_only_a_quote_has_no_text() {
        let raw = "From: Ada <ada@example.org>\r\nTo: reply+abc@in.shop.example\r\nSubject: Re: Hello\r\n\r\n\
On Mon, 7 Dec 2026 at 10:00, Shop <support@shop.example> wrote:\r\n\r\n> Hello Ada,\r\n>\r\n> How can we help?\r\n";

        assert!(matches!(parse(raw.as_bytes()), Err(InboundError::NoText)));
    }

    #[test]
    fn a_message_of_a_file_alone_keeps_the_file_with_an_empty_text() {
        let raw = b"From: ada@example.org\r\nContent-Type: image/png; name=\"a.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n";

        let mail = parse(raw).unwrap();

        assert_eq!(mail.text, "");
        assert_eq!(
            mail.attachments,
            [InboundAttachment {
                file_name: Some("a.png".into()),
                content_type: "image/png".into(),
                bytes: Some(b"\x89PNG\r\n\x1a\n".to_vec()),
            }]
        );
    }

    #[test]
    fn the_limits_keep_the_files_an_upload_may_have_and_say_why_the_others_are_left_out() {
        let file = |name: Option<&str>, content_type: &str, bytes: Option<&[u8]>| InboundAttachment {
            file_name: name.map(str::to_owned),
            content_type: content_type.to_owned(),
            bytes: bytes.map(<[u8]>::to_vec),
        };
        let mail = InboundMail {
            message_id: Some("m@example.org".into()),
            from: Some("ada@example.org".into()),
            recipients: Vec::new(),
            in_reply_to: Vec::new(),
            subject: None,
            text: "Here they are.".into(),
            attachments: vec![
                file(Some("box.png"), "image/png", Some(b"png")),
                file(Some("Note.PDF"), "application/octet-stream", Some(b"%PDF-")),
                file(None, "image/jpeg", Some(b"jpeg")),
                file(Some("a/b\"c.txt"), "text/plain", Some(b"t")),
                file(Some("order.html"), "text/html", Some(b"<p>")),
                file(Some("big.zip"), "application/zip", Some(&[0; 11])),
                file(Some("setup.exe"), "application/x-msdownload", Some(b"MZ")),
                file(Some("empty.txt"), "text/plain", Some(b"")),
                file(Some("broken.pdf"), "application/pdf", None),
                file(Some("one-more.png"), "image/png", Some(b"png")),
            ],
        };
        let limits = AttachmentLimits { max_bytes: 10, per_message: 4, ..AttachmentLimits::default() };

        let (kept, left_out) = mail.files_to_keep(&limits);

        let kept: Vec<(&str, &str)> =
            kept.iter().map(|file| (file.file_name.as_str(), file.content_type.as_str())).collect();
        assert_eq!(
            kept,
            [
                ("box.png", "image/png"),
                ("Note.PDF", "application/pdf"),
                ("attachment-3", "image/jpeg"),
                ("a_b_c.txt", "text/plain")
            ]
        );
        let left_out: Vec<(Option<&str>, &str)> =
            left_out.iter().map(|left| (left.file.file_name.as_deref(), left.reason)).collect();
        assert_eq!(
            left_out,
            [
                (Some("order.html"), "attachment_type_forbidden"),
                (Some("big.zip"), "attachment_too_large"),
                (Some("setup.exe"), "attachment_type_not_allowed"),
                (Some("empty.txt"), "attachment_empty"),
                (Some("broken.pdf"), "unreadable"),
                (Some("one-more.png"), "too_many_attachments"),
            ]
        );
    }

    #[test]
    fn a_file_whose_base64_is_broken_is_kept_without_its_bytes() {
        let raw = b"From: ada@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nThe receipt.\r\n\
--b\r\nContent-Type: application/pdf; name=receipt.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n\
!!!! not base64 ****\r\n--b--\r\n";

        let mail = parse(raw).unwrap();

        assert_eq!(mail.text, "The receipt.");
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].bytes, None);
    }

    #[test]
    fn the_text_is_capped_at_max_text_chars() {
        let body = "é".repeat(MAX_TEXT_CHARS + 500);
        let raw =
            format!("From: ada@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n");

        let mail = parse(raw.as_bytes()).unwrap();

        assert_eq!(mail.text.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn undeclared_utf8_is_read_as_utf8() {
        let raw = "From: ada@example.org\r\nSubject: hi\r\n\r\nGrüße aus Zürich\r\n";

        assert_eq!(parse(raw.as_bytes()).unwrap().text, "Grüße aus Zürich");
    }

    #[test]
    fn an_empty_plain_alternative_falls_back_to_the_html_one() {
        let raw = b"From: ada@example.org\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Where is my parcel?</p>\r\n--b--\r\n";

        assert_eq!(parse(raw).unwrap().text, "Where is my parcel?");
    }

    #[test]
    fn recipients_are_lowercased_deduplicated_and_include_groups_and_delivered_to() {
        let raw = b"From: \"Ada\" <ADA@Example.org>\r\n\
To: Shop <Reply+ABC@in.shop.example>, undisclosed: bob@example.org, Carol <carol@example.org>;\r\n\
Cc: reply+abc@in.shop.example, dave@example.org\r\nDelivered-To: reply+abc@in.shop.example\r\n\
X-Original-To: shop-inbound@in.shop.example\r\n\r\nThanks!\r\n";

        let mail = parse(raw).unwrap();

        assert_eq!(mail.from.as_deref(), Some("ada@example.org"));
        assert_eq!(
            mail.recipients,
            [
                "reply+abc@in.shop.example",
                "bob@example.org",
                "carol@example.org",
                "dave@example.org",
                "shop-inbound@in.shop.example"
            ]
        );
    }

    #[test]
    fn message_ids_are_read_without_brackets_comments_or_repeats() {
        let raw = b"From: ada@example.org\r\nMessage-ID:  bare-id@example.org \r\n\
In-Reply-To: <b@shop.example> (Shop's message of Mon, 7 Dec 2026)\r\n\
References: <a@shop.example>\r\n <b@shop.example>\r\n\r\nThanks!\r\n";

        let mail = parse(raw).unwrap();

        assert_eq!(mail.message_id.as_deref(), Some("bare-id@example.org"));
        assert_eq!(mail.in_reply_to, ["b@shop.example", "a@shop.example"]);
    }

    #[test]
    fn gmails_attribution_wrapped_over_two_lines_starts_the_history() {
        let body = "Yes, that is fine.\n\nOn Mon, 7 Dec 2026 at 10:00, Shop Customer Support Team <\n\
support@shop.example> wrote:\n\n> Shall we send a new one?\n";

        assert_eq!(reply_text(body), "Yes, that is fine.");
    }

    #[test]
    fn an_iphone_reply_loses_its_sign_off_and_quoted_attribution() {
        let body = "Perfect, thanks!\n\nSent from my iPhone\n\n> On 7 Dec 2026, at 10:00, Shop \
<support@shop.example> wrote:\n> \n> It has shipped.\n";

        assert_eq!(reply_text(body), "Perfect, thanks!");
    }

    #[test]
    fn outlooks_header_block_starts_the_history_without_a_separator_line() {
        let body =
            "Please cancel it.\r\n\r\nFrom: Shop <support@shop.example> \r\nSent: Monday, 7 December 2026 \
10:00\r\nTo: Grace Hopper <grace@contoso.example>\r\nSubject: Your order\r\n\r\nHello Grace,\r\n";

        assert_eq!(reply_text(body), "Please cancel it.");
    }

    #[test]
    fn bold_and_localized_header_blocks_start_the_history() {
        for block in [
            "*From:* Shop <support@shop.example>\n*Sent:* Monday\n*To:* Ada\n",
            "De : Shop <support@shop.example>\nEnvoyé : lundi 7 décembre 2026 10:00\nÀ : Ada\nObjet : Commande\n",
            "Von: Shop <support@shop.example>\nGesendet: Montag, 7. Dezember 2026 10:00\nAn: Ada\n",
        ] {
            assert_eq!(reply_text(&format!("Danke.\n\n{block}\nHello Ada,\n")), "Danke.", "{block}");
        }
    }

    #[test]
    fn a_from_line_of_the_customers_own_is_kept() {
        let body = "From: my account page I cannot change the address.\nTo: be clear, it is the billing one.";

        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn original_message_separators_start_the_history() {
        for separator in
            ["-----Original Message-----", "----- Original Message -----", "-----Message d'origine-----"]
        {
            let body = format!("See below.\n\n{separator}\nFrom: Shop\nHello\n");

            assert_eq!(reply_text(&body), "See below.", "{separator}");
        }
    }

    #[test]
    fn spanish_french_and_german_attributions_start_the_history() {
        for attribution in [
            "El lun, 7 dic 2026 a las 10:00, Shop (<support@shop.example>) escribió:",
            "Le lun. 7 déc. 2026 à 10:00, Shop <support@shop.example> a écrit\u{a0}:",
            "Am Mo., 7. Dez. 2026 um 10:00 Uhr schrieb Shop <support@shop.example>:",
        ] {
            let body = format!("Gracias.\n\n{attribution}\n\n> Hola\n");

            assert_eq!(reply_text(&body), "Gracias.", "{attribution}");
        }
    }

    #[test]
    fn an_attribution_like_line_of_the_customers_own_is_kept() {
        let body = "On Monday your colleague wrote:\nthe refund would take 5 days. It has been 10.";

        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn the_signature_after_dash_dash_space_is_dropped() {
        let body = "Where is my parcel?\n\n-- \nAda Lovelace\nAnalytical Engines Ltd\n";

        assert_eq!(reply_text(body), "Where is my parcel?");
    }

    #[test]
    fn only_trailing_quoted_lines_are_dropped() {
        let body =
            "You wrote:\n> it ships Monday\nIt did not. Price was > 40 EUR too.\n> anything else?\n>\n";

        assert_eq!(reply_text(body), "You wrote:\n> it ships Monday\nIt did not. Price was > 40 EUR too.");
    }

    #[test]
    fn a_sign_off_line_is_dropped_only_at_the_end() {
        let body =
            "Sent from my iPhone is what it says under every mail, sorry.\nGet Outlook for iOS\nThanks";

        assert_eq!(reply_text(body), body);
        assert_eq!(reply_text("Thanks\n\nGet Outlook for Android<https://aka.ms/AAb9ysg>\n"), "Thanks");
    }

    #[test]
    fn line_breaks_trailing_whitespace_and_blank_runs_are_normalised() {
        let body = "\r\n  \r\nFirst line  \r\n\r\n\r\n\r\n\r\nSecond line\t\r\nThird\rFourth\r\n";

        assert_eq!(reply_text(body), "First line\n\n\nSecond line\nThird\nFourth");
    }

    #[test]
    fn a_bottom_posted_reply_keeps_the_text_below_the_quote() {
        let body = "On Mon, 7 Dec 2026 at 10:00, Shop <support@shop.example> wrote:\n> Did it arrive?\n\n\
Yes, this morning.\n\n-- \nAda\n";

        assert_eq!(reply_text(body), "Yes, this morning.");
    }

    #[test]
    fn html_entities_breaks_and_paragraphs_become_text() {
        let html = "<html><head><title>Re: order</title><style>p { margin: 0 }</style></head><body>\
<!-- a comment --><p>Fish &amp; chips &lt;3 &quot;now&quot; &#8212; &#x20AC;5&nbsp;&nbsp;off</p>\
<p>Line one<br>Line two</p><table><tr><td>Cell</td><td>next</td></tr></table>1 < 2 &unknown; &amp</body></html>";

        assert_eq!(
            reply_text(&html_text(html)),
            "Fish & chips <3 \"now\" — €5  off\nLine one\nLine two\nCell next\n1 < 2 &unknown; &amp"
        );
    }

    #[test]
    fn html_blockquotes_are_dropped_and_the_text_after_them_kept() {
        let html =
            "<div>You said:</div><blockquote><div>it ships <blockquote>nested</blockquote> Monday</div>\
</blockquote><div>It did not.</div>";

        assert_eq!(reply_text(&html_text(html)), "You said:\nIt did not.");
    }

    #[test]
    fn apple_mails_cited_blockquote_drops_everything_after_it() {
        let html =
            "<div dir=\"ltr\">Thanks, got it.</div><div dir=\"ltr\"><br><blockquote type=\"cite\">On 7 Dec \
2026, at 10:00, Shop &lt;support@shop.example&gt; wrote:<br><br></blockquote></div><blockquote type=\"cite\">\
<div>Hello</div></blockquote><div>Shop footer</div>";

        assert_eq!(reply_text(&html_text(html)), "Thanks, got it.");
    }

    #[test]
    fn outlook_desktops_html_quote_is_cut_at_its_header_block() {
        let html = "<div class=WordSection1><p class=MsoNormal>Please cancel it.<o:p></o:p></p>\
<p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt'>\
<p class=MsoNormal><b>From:</b> Shop &lt;support@shop.example&gt; <br><b>Sent:</b> Monday, 7 December 2026 \
10:00<br><b>To:</b> Grace &lt;grace@contoso.example&gt;<br><b>Subject:</b> Your order<o:p></o:p></p></div>\
</div><p class=MsoNormal>Hello Grace,</p></div>";

        assert_eq!(reply_text(&html_text(html)), "Please cancel it.");
    }

    #[test]
    fn yahoo_and_thunderbird_html_quotes_are_cut() {
        for html in [
            "<div>Thanks!</div><div class=\"yahoo_quoted\" id=\"yahoo_quoted_123\">On Monday, Shop wrote:</div>",
            "<p>Thanks!</p><div class=\"moz-cite-prefix\">On 07/12/2026 10:00, Shop wrote:<br></div>",
        ] {
            assert_eq!(reply_text(&html_text(html)), "Thanks!", "{html}");
        }
    }

    #[test]
    fn a_tag_that_never_ends_drops_the_rest() {
        assert_eq!(reply_text(&html_text("Hello <div class=\"x>never closed")), "Hello");
    }

    #[test]
    fn format_flowed_joins_soft_breaks_and_keeps_quotes_and_the_signature_line() {
        let body = "Para one \r\ncontinues.\r\n\r\n-- \r\nAda\r\n> quoted \r\n> more\r\n>> deeper\r\n";

        assert_eq!(unflow(body, false), "Para one continues.\n\n-- \nAda\n> quoted more\n>> deeper");
    }

    #[test]
    fn format_flowed_with_delsp_drops_the_space_of_each_soft_break_and_unstuffs_lines() {
        assert_eq!(
            unflow("Zusammen \r\ngesetzt\r\n\r\n From here\r\n", true),
            "Zusammengesetzt\n\nFrom here"
        );
    }
}
