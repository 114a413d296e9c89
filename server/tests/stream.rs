//! Live dictation over WebSocket against a real server and model: a Swedish clip streamed in
//! frames becomes final text and a draft; bad input is refused without harm; a dropped
//! connection resumes to exactly the draft an uninterrupted run produces.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use skriva_server::Role;

const CLINICIAN: &str = "SE2321000016-ABC1";
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_clip_becomes_final_text_and_a_signable_draft() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let token = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let (session, draft_id) = create_session(&server.http, &server.base, &token, "P-7").await?;
    let samples = full_clip();
    let events = stream_clip(&server.ws_base, &session, &token, samples).await?;
    assert_monotonic(&events);
    assert_eq!(events[0]["type"], "ready");
    assert_eq!(events[0]["last_frame_seq"], 0);
    let frame_count = frames(samples).len() as u64;
    let last_ack = events
        .iter()
        .filter(|e| e["type"] == "ack")
        .filter_map(|e| e["frame_seq"].as_u64())
        .max();
    assert_eq!(last_ack, Some(frame_count), "every frame acknowledged");
    let finals = events.iter().filter(|e| e["type"] == "final").count();
    assert!(finals >= 2, "one final per utterance at least: {finals}");
    let text = finals_text(&events);
    assert_stable_is_never_retracted(&events);
    let wer = word_error_rate(&text, &SENTENCES[..2].join(" "));
    assert!(
        wer <= STREAM_MAX_WER,
        "WER {wer:.3} > {STREAM_MAX_WER}: {text}"
    );
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    tracing::info!(?kinds, %text, "stream events");
    let draft_event = events
        .iter()
        .find(|e| e["type"] == "draft")
        .ok_or("no draft event")?;
    // The draft is the finals structured into a note: sections with headings.
    let sections = draft_event["sections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !sections.is_empty() && sections.iter().all(|s| s["heading"] != ""),
        "{draft_event}"
    );
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("closed"))
    );

    // The draft holds exactly the finals; the session is finished.
    let http = &server.http;
    let draft: Value = http
        .get(server.url(&format!("/api/drafts/{draft_id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(draft["text"], draft_event["text"]);
    assert_eq!(draft["segments"].as_array().map(Vec::len), Some(finals));
    assert_eq!(segments_text(&draft), text);
    let info: Value = http
        .get(server.url(&format!("/api/sessions/{session}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(info["status"], "finished");
    assert_eq!(info["last_frame_seq"], frame_count);

    // Reconnecting to a finished session replays its persisted events and closes.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(Some(0)).await?;
    let (replayed, end) = ws.drain(WAIT).await;
    assert_eq!(finals_text(&replayed), text);
    assert!(matches!(end, Item::Closed(Some((1000, _)))), "{end:?}");

    // Signing deletes the audio (default retention) and audits the deletion.
    let audio = skriva_server::stream::audio_path(&server.state.config().audio_dir(), &session);
    assert!(audio.exists());
    let signed = http
        .post(server.url(&format!("/api/drafts/{draft_id}/sign")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(signed.status(), 200);
    assert!(!audio.exists(), "audio deleted at signing");
    let rows = skriva_server::audit::rows(server.state.store(), Some("P-7"), 100, 0)?;
    assert!(rows
        .iter()
        .any(|r| r.action == "delete" && r.detail.contains("audio")));
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("skriva_finals_total"));
    assert!(!metrics.contains("skriva_audio_seconds_total 0\n"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_the_server_keeps_serving() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|c| {
        c.limits.max_frame_bytes = 16 * 1024;
        c.limits.max_streams_per_user = 1;
    })
    .await?;
    let token = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let other = server.user("Dr Bo", Role::Clinician, "SE2321000016-XYZ9")?;
    let (session, draft_id) = create_session(&server.http, &server.base, &token, "P-8").await?;
    let mut seen = Vec::new();

    // Before `start`: frames, malformed JSON, unknown types and `stop` are refused, seq 0.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.send_binary(
        1u64.to_le_bytes()
            .iter()
            .chain(&[0u8; 320])
            .copied()
            .collect(),
    )
    .await?;
    let e = ws.expect("error", &mut seen, WAIT).await?;
    assert_eq!(
        (e["code"].clone(), e["seq"].clone()),
        (json!("not_started"), json!(0))
    );
    ws.send_text("{this is not json").await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "malformed_message"
    );
    ws.send_json(json!({"type": "dance"})).await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "unknown_message"
    );
    ws.send_json(json!({"type": "stop"})).await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "not_started"
    );

    // One stream per user here: a second connection is refused before the upgrade.
    assert!(Ws::connect(&server.ws_base, &session, Auth::Header(&token))
        .await
        .is_err());

    // An unsupported format ends the connection with 4400.
    ws.send_json(
        json!({"type": "start", "sample_rate": 1000, "channels": 1, "encoding": "pcm_s16le"}),
    )
    .await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "unsupported_format"
    );
    assert!(matches!(ws.next(WAIT).await, Item::Closed(Some((4400, _)))));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Browser-style auth (subprotocol); after `start`, errors are numbered in the session.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Subprotocol(&token)).await?;
    ws.start(None).await?;
    ws.expect("ready", &mut seen, WAIT).await?;
    ws.send_json(
        json!({"type": "start", "sample_rate": 16000, "channels": 1, "encoding": "pcm_s16le"}),
    )
    .await?;
    let e = ws.expect("error", &mut seen, WAIT).await?;
    assert_eq!(e["code"], "already_started");
    assert!(e["seq"].as_u64().unwrap_or_default() > 0);
    ws.send_binary(vec![1, 2, 3]).await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "bad_frame"
    );
    ws.send_binary(
        5u64.to_le_bytes()
            .iter()
            .chain(&[0u8; 320])
            .copied()
            .collect(),
    )
    .await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "frame_gap"
    );
    ws.send_binary(
        1u64.to_le_bytes()
            .iter()
            .chain(&[0u8; 321])
            .copied()
            .collect(),
    )
    .await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "bad_frame"
    );
    ws.send_binary(
        1u64.to_le_bytes()
            .iter()
            .chain(&[0u8; 320])
            .copied()
            .collect(),
    )
    .await?;
    assert_eq!(ws.expect("ack", &mut seen, WAIT).await?["frame_seq"], 1);
    // A frame over the limit closes with 1009.
    ws.send_binary(vec![0u8; 20 * 1024]).await?;
    let end = loop {
        match ws.next(WAIT).await {
            Item::Event(e) => seen.push(e),
            other => break other,
        }
    };
    assert!(matches!(end, Item::Closed(Some((1009, _)))), "{end:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A resumed start with another format than the session's is refused.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Query(&token)).await?;
    ws.send_json(
        json!({"type": "start", "sample_rate": 48000, "channels": 2, "encoding": "pcm_f32le"}),
    )
    .await?;
    assert_eq!(
        ws.expect("error", &mut seen, WAIT).await?["code"],
        "format_mismatch"
    );
    assert!(matches!(ws.next(WAIT).await, Item::Closed(Some((4400, _)))));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Unknown sessions and other clinicians' sessions are refused at the upgrade.
    assert!(
        Ws::connect(&server.ws_base, "ses_unknown", Auth::Header(&token))
            .await
            .is_err()
    );
    assert!(Ws::connect(&server.ws_base, &session, Auth::Header(&other))
        .await
        .is_err());

    // Nothing above hurt the session: it still streams, and its draft is intact.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(None).await?;
    let ready = ws.expect("ready", &mut seen, WAIT).await?;
    assert_eq!(ready["last_frame_seq"], 1);
    ws.send_json(json!({"type": "stop"})).await?;
    let (rest, end) = ws.drain(WAIT).await;
    assert!(rest.iter().any(|e| e["type"] == "closed"), "{rest:?}");
    assert!(matches!(end, Item::Closed(Some((1000, _)))));
    let draft = server
        .http
        .get(server.url(&format!("/api/drafts/{draft_id}")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(draft.status(), 200);
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await?
            .status(),
        200
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_to_the_uninterrupted_draft() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|c| c.streaming.partials = false).await?;
    let token = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let http = &server.http;
    let samples = full_clip();
    let all_frames = frames(samples);

    // The reference: one uninterrupted run.
    let (reference_session, _) = create_session(http, &server.base, &token, "P-9").await?;
    let reference =
        finals_text(&stream_clip(&server.ws_base, &reference_session, &token, samples).await?);
    assert!(!reference.is_empty());

    // The same audio, with the connection dropped midway.
    let (session, draft_id) = create_session(http, &server.base, &token, "P-9").await?;
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(None).await?;
    let mut first = Vec::new();
    ws.expect("ready", &mut first, WAIT).await?;
    let cut = all_frames.len() * 6 / 10;
    for (_, frame) in &all_frames[..cut] {
        ws.send_binary(frame.clone()).await?;
    }
    // Read until the first final (some audio is then certainly committed), then drop.
    ws.expect("final", &mut first, Duration::from_secs(300))
        .await?;
    drop(ws);
    assert_monotonic(&first);
    let last_seen = first
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .unwrap_or(0);
    let acked = first
        .iter()
        .filter(|e| e["type"] == "ack")
        .filter_map(|e| e["frame_seq"].as_u64())
        .max()
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Reconnect: missed persisted events are replayed, then `ready` says where audio stands.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(Some(last_seen)).await?;
    let mut second = Vec::new();
    let ready = ws.expect("ready", &mut second, WAIT).await?;
    let accepted = ready["last_frame_seq"]
        .as_u64()
        .ok_or("ready without last_frame_seq")?;
    assert!(
        accepted >= acked,
        "acked audio is never lost: {accepted} < {acked}"
    );
    assert!(
        second.iter().all(|e| e["seq"].as_u64() > Some(last_seen)),
        "no event twice"
    );
    // Resend from a little before the accepted point: duplicates are ignored.
    let resend_from = accepted.saturating_sub(3) as usize;
    for (_, frame) in &all_frames[resend_from..] {
        ws.send_binary(frame.clone()).await?;
    }
    ws.send_json(json!({"type": "stop"})).await?;
    let (rest, end) = ws.drain(Duration::from_secs(300)).await;
    second.extend(rest);
    assert!(matches!(end, Item::Closed(Some((1000, _)))), "{end:?}");
    let mut all = first.clone();
    all.extend(second.iter().cloned());
    assert_monotonic(&all);
    let resumed = finals_text(&all);
    assert_eq!(
        resumed, reference,
        "the resumed session's finals equal the uninterrupted run's"
    );
    let draft: Value = http
        .get(server.url(&format!("/api/drafts/{draft_id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(segments_text(&draft), reference);
    // The audio on disk is exactly the clip, once.
    let audio = skriva_server::stream::audio_path(&server.state.config().audio_dir(), &session);
    let pcm = skriva_server::stream::read_pcm(&audio)?;
    assert_eq!(pcm.len(), samples.len() * 2);
    Ok(())
}
