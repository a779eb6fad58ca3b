//! Mobile push end to end (issue 29): the SDK registers devices on `pubnub-local` (127.0.0.1:0,
//! the SDK's own HTTP transport), publishes messages built with `PushPayload`, and the server's
//! outbox shows what each device would receive.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::push::{Apns2Configuration, ApnsTarget, Environment, PushPayload, PushType};
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, SubscriptionOptions};
use pubnub_local::{PushEnvironment, PushType as Pushed, Server};
use serde_json::json;

use support::local::{client_with, server, within};

const FCM_TOKEN: &str = "fcm-token-alice";
const APNS_TOKEN: &str = "a655fba9931ab0000000000000000000000000000000000000000000000000ab";
const TOPIC: &str = "com.example.chat";

async fn register(pubnub: &PubNub) {
    pubnub
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["chat", "news"])
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    pubnub
        .add_channels_to_push()
        .push_type(PushType::Apns2)
        .topic(TOPIC)
        .environment(Environment::Production)
        .channels(["chat"])
        .device_id(APNS_TOKEN)
        .await
        .unwrap();
}

#[tokio::test]
async fn registrations_are_added_listed_removed_and_kept_apart() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    register(&pubnub).await;

    let fcm = pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    assert_eq!(fcm.channels, ["chat", "news"]);
    // GCM is FCM's former name: the same registrations.
    let gcm = pubnub
        .list_push_channels()
        .push_type(PushType::Gcm)
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    assert_eq!(gcm.channels, fcm.channels);
    // APNs2 registrations are per topic and environment.
    let list_apns = |environment| {
        pubnub
            .list_push_channels()
            .push_type(PushType::Apns2)
            .topic(TOPIC)
            .environment(environment)
            .device_id(APNS_TOKEN)
    };
    assert_eq!(
        list_apns(Environment::Production).await.unwrap().channels,
        ["chat"]
    );
    assert!(list_apns(Environment::Development)
        .await
        .unwrap()
        .channels
        .is_empty());

    // Paging: two at a time after a channel.
    pubnub
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["a", "b", "c"])
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    let page = pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id(FCM_TOKEN)
        .start("b")
        .count(2)
        .await
        .unwrap();
    assert_eq!(page.channels, ["c", "chat"]);

    pubnub
        .remove_channels_from_push()
        .push_type(PushType::Fcm)
        .channels(["news", "never-registered"])
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    let fcm = pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    assert_eq!(fcm.channels, ["a", "b", "c", "chat"]);
    pubnub
        .remove_device_from_push()
        .push_type(PushType::Fcm)
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    assert!(pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id(FCM_TOKEN)
        .await
        .unwrap()
        .channels
        .is_empty());
    // The APNs2 registration is untouched.
    assert_eq!(
        list_apns(Environment::Production).await.unwrap().channels,
        ["chat"]
    );

    // The service's own refusal of a legacy APNs token that is not hexadecimal.
    let error = pubnub
        .add_channels_to_push()
        .push_type(PushType::Apns)
        .channels(["chat"])
        .device_id("device_id_should_be_16_characters_long")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 400 });
    assert!(error.message().contains("Invalid device token"), "{error}");
    pubnub.close().await;
}

#[tokio::test]
async fn a_push_payload_reaches_the_devices_it_targets() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    register(&pubnub).await;
    // A second APNs2 device, in development: a production-only payload skips it.
    pubnub
        .add_channels_to_push()
        .push_type(PushType::Apns2)
        .topic(TOPIC)
        .channels(["chat"])
        .device_id("00112233")
        .await
        .unwrap();

    let message = PushPayload::new("Alice", "lunch at noon?")
        .badge(1)
        .sound("default")
        .apns2(Apns2Configuration::new([
            ApnsTarget::new(TOPIC).environment(Environment::Production)
        ]))
        .fcm_data("room", json!("chat"))
        .message(json!({"text": "lunch at noon?"}))
        .build([PushType::Apns2, PushType::Fcm])
        .unwrap();
    let sent = pubnub
        .publish()
        .channel("chat")
        .message(&message)
        .await
        .unwrap();

    let outbox = server.push_outbox();
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    let fcm = outbox.iter().find(|n| n.push_type == Pushed::Fcm).unwrap();
    assert_eq!(fcm.token, FCM_TOKEN);
    assert_eq!(fcm.channel, "chat");
    assert_eq!(fcm.timetoken, pubnub_local::Timetoken(sent.timetoken));
    assert_eq!(
        fcm.payload,
        json!({
            "notification": {"title": "Alice", "body": "lunch at noon?"},
            "data": {"room": "chat"},
            "android": {"notification": {"sound": "default"}}
        })
    );
    let apns = outbox
        .iter()
        .find(|n| n.push_type == Pushed::Apns2)
        .unwrap();
    assert_eq!(apns.token, APNS_TOKEN);
    assert_eq!(apns.topic.as_deref(), Some(TOPIC));
    assert_eq!(apns.environment, Some(PushEnvironment::Production));
    assert_eq!(
        apns.payload,
        json!({"aps": {"alert": {"title": "Alice", "body": "lunch at noon?"}, "badge": 1, "sound": "default"}})
    );

    // The sender's own device is excluded; a message without push parts pushes nothing.
    server.clear_push_outbox();
    let message = PushPayload::new("Alice", "again")
        .apns2(Apns2Configuration::new([ApnsTarget::new(TOPIC)
            .environment(Environment::Production)
            .excluded_devices([APNS_TOKEN])]))
        .build([PushType::Apns2])
        .unwrap();
    pubnub
        .publish()
        .channel("chat")
        .message(&message)
        .await
        .unwrap();
    pubnub
        .publish()
        .channel("chat")
        .message(&json!({"text": "no push"}))
        .await
        .unwrap();
    assert!(
        server.push_outbox().is_empty(),
        "{:?}",
        server.push_outbox()
    );
    pubnub.close().await;
}

#[tokio::test]
async fn pn_debug_reports_arrive_on_the_pndebug_channel() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    register(&pubnub).await;
    let debug = pubnub
        .channel("chat-pndebug")
        .subscription(SubscriptionOptions::new());
    let mut reports = debug.message_stream();
    let mut statuses = pubnub.status_stream();
    debug.subscribe().unwrap();
    loop {
        let status = within(statuses.next()).await.unwrap();
        if status.category == StatusCategory::Connected {
            break;
        }
    }
    let message = PushPayload::new("Alice", "debug me")
        .debug(true)
        .build([PushType::Fcm])
        .unwrap();
    assert_eq!(message["pn_debug"], json!(true));
    pubnub
        .publish()
        .channel("chat")
        .message(&message)
        .await
        .unwrap();
    let report = within(reports.next()).await.unwrap();
    assert_eq!(report.publisher.as_deref(), Some("pubnub-push-debug"));
    assert!(
        report.message.to_value().is_string(),
        "{:?}",
        report.message
    );
    // Every report of this publish arrives within a moment; one names the FCM job.
    let mut texts = vec![report.message.to_value().as_str().unwrap().to_owned()];
    while let Ok(Some(next)) =
        tokio::time::timeout(Duration::from_millis(300), reports.next()).await
    {
        texts.push(
            next.message
                .to_value()
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.contains("GCM") && t.contains("sent: 1")),
        "{texts:?}"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn with_access_manager_registrations_need_read_on_their_channels() {
    const SECRET: &str = "sec-c-push";
    let server = Server::builder()
        .secret_key(SECRET)
        .publish_key("pub-key")
        .start()
        .await
        .unwrap();
    let admin = client_with(&server, "admin", |b| b.secret_key(SECRET));
    let token = admin
        .grant_token(60)
        .authorized_user_id("phone")
        .channel("chat", pubnub_engine::access::Permissions::READ)
        .await
        .unwrap();
    let phone = client_with(&server, "phone", |b| b);
    phone.set_token(token).unwrap();
    phone
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["chat"])
        .device_id(FCM_TOKEN)
        .await
        .unwrap();
    let error = phone
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["secret"])
        .device_id(FCM_TOKEN)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
    assert_eq!(
        phone
            .list_push_channels()
            .push_type(PushType::Fcm)
            .device_id(FCM_TOKEN)
            .await
            .unwrap()
            .channels,
        ["chat"]
    );
    admin.close().await;
    phone.close().await;
}
