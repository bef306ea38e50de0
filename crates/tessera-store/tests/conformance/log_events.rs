//! The tenant's log: batches stored and read back, filters combined, offset
//! paging newest or oldest first, checkpoint paging by log id, the retention
//! sweep (in bounded batches, oldest first), batches larger than one insert
//! statement.

use tessera_core::log_event::{LogEvent, LogFilter, LogStore, LogType, LogWindow};

use crate::*;

fn event(n: u32, kind: LogType, date: i64, user: Option<&str>, client: Option<&str>) -> LogEvent {
    LogEvent {
        log_id: format!("{date:011}{n:010}"),
        user_id: user.map(str::to_owned),
        client_id: client.map(str::to_owned),
        details: serde_json::json!({"n": n}),
        ..LogEvent::new(kind, date)
    }
}

fn ids(events: &[LogEvent]) -> Vec<u32> {
    events
        .iter()
        .map(|e| e.details["n"].as_u64().unwrap() as u32)
        .collect()
}

pub async fn log_events_filter_page_and_sweep(db: Db) {
    let s = &db.store;
    let events = [
        event(1, LogType::SuccessLogin, T0, Some("auth0|a"), Some("app")),
        event(
            2,
            LogType::FailedLoginPassword,
            T0 + 10,
            Some("auth0|a"),
            Some("app"),
        ),
        event(
            3,
            LogType::SuccessApiOperation,
            T0 + 20,
            None,
            Some("admin"),
        ),
        event(
            4,
            LogType::SuccessLogin,
            T0 + 30,
            Some("auth0|b"),
            Some("app"),
        ),
        event(
            5,
            LogType::FailedExchangeRotatingRefresh,
            T0 + 40,
            Some("auth0|a"),
            Some("spa"),
        ),
    ];
    s.insert_log_events(&events[..2]).await.unwrap();
    s.insert_log_events(&events[2..]).await.unwrap();
    s.insert_log_events(&[]).await.unwrap();
    // A log id is unique: a batch repeating one is refused whole.
    assert!(s.insert_log_events(&events[..1]).await.is_err());
    assert_eq!(
        s.get_log_event(&events[2].log_id).await.unwrap(),
        Some(events[2].clone())
    );
    assert_eq!(s.get_log_event("nope").await.unwrap(), None);

    let all = LogFilter::default();
    let newest = |offset, limit| LogWindow::Offset {
        offset,
        limit,
        oldest_first: false,
    };
    let listed = s.list_log_events(&all, &newest(0, 50)).await.unwrap();
    assert_eq!(ids(&listed), [5, 4, 3, 2, 1]);
    assert_eq!(
        ids(&s.list_log_events(&all, &newest(1, 2)).await.unwrap()),
        [4, 3]
    );
    let oldest = LogWindow::Offset {
        offset: 0,
        limit: 2,
        oldest_first: true,
    };
    assert_eq!(
        ids(&s.list_log_events(&all, &oldest).await.unwrap()),
        [1, 2]
    );
    assert_eq!(s.count_log_events(&all).await.unwrap(), 5);

    for (filter, expected) in [
        (
            LogFilter {
                types: vec!["s".into()],
                ..Default::default()
            },
            vec![4, 1],
        ),
        (
            LogFilter {
                types: vec!["s".into(), "fp".into()],
                ..Default::default()
            },
            vec![4, 2, 1],
        ),
        (
            LogFilter {
                user_id: Some("auth0|a".into()),
                ..Default::default()
            },
            vec![5, 2, 1],
        ),
        (
            LogFilter {
                user_id: Some("auth0|a".into()),
                client_id: Some("app".into()),
                ..Default::default()
            },
            vec![2, 1],
        ),
        (
            LogFilter {
                since: Some(T0 + 10),
                until: Some(T0 + 30),
                ..Default::default()
            },
            vec![4, 3, 2],
        ),
        (
            LogFilter {
                client_id: Some("nobody".into()),
                ..Default::default()
            },
            vec![],
        ),
    ] {
        let got = s.list_log_events(&filter, &newest(0, 50)).await.unwrap();
        assert_eq!(ids(&got), expected, "{filter:?}");
        assert_eq!(
            s.count_log_events(&filter).await.unwrap(),
            expected.len() as i64
        );
    }

    // Checkpoint paging: by log id, after the one given.
    let first = s
        .list_log_events(
            &all,
            &LogWindow::After {
                after: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&first), [1, 2]);
    let next = s
        .list_log_events(
            &all,
            &LogWindow::After {
                after: Some(first[1].log_id.clone()),
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&next), [3, 4]);
    let only_a = LogFilter {
        user_id: Some("auth0|a".into()),
        ..Default::default()
    };
    let rest = s
        .list_log_events(
            &only_a,
            &LogWindow::After {
                after: Some(next[1].log_id.clone()),
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest), [5]);

    // Retention: strictly older than the bound.
    assert_eq!(s.sweep_log_events(T0 + 20, 100).await.unwrap(), 2);
    assert_eq!(
        ids(&s.list_log_events(&all, &newest(0, 50)).await.unwrap()),
        [5, 4, 3]
    );
    assert_eq!(s.sweep_log_events(T0 + 20, 100).await.unwrap(), 0);
}

pub async fn log_sweeps_remove_bounded_batches_oldest_first(db: Db) {
    let s = &db.store;
    // 250 events: more than one insert statement holds (100).
    let events: Vec<LogEvent> = (0..250)
        .map(|n| event(n, LogType::SuccessLogin, T0 + i64::from(n), None, None))
        .collect();
    s.insert_log_events(&events).await.unwrap();
    let all = LogFilter::default();
    assert_eq!(s.count_log_events(&all).await.unwrap(), 250);
    // Older than T0 + 10: ten events, swept four at a time, oldest first.
    let before = T0 + 10;
    assert_eq!(s.sweep_log_events(before, 4).await.unwrap(), 4);
    let oldest = LogWindow::Offset {
        offset: 0,
        limit: 1,
        oldest_first: true,
    };
    let first = s.list_log_events(&all, &oldest).await.unwrap();
    assert_eq!(ids(&first), [4]);
    assert_eq!(s.sweep_log_events(before, 4).await.unwrap(), 4);
    assert_eq!(s.sweep_log_events(before, 4).await.unwrap(), 2);
    assert_eq!(s.sweep_log_events(before, 4).await.unwrap(), 0);
    assert_eq!(s.count_log_events(&all).await.unwrap(), 240);
    let first = s.list_log_events(&all, &oldest).await.unwrap();
    assert_eq!(ids(&first), [10]);
    // A limit of zero (or less) removes nothing.
    assert_eq!(s.sweep_log_events(T0 + 1_000, 0).await.unwrap(), 0);
    assert_eq!(s.count_log_events(&all).await.unwrap(), 240);
}
