//! `Options::builder()`: the defaults, every setting, and the settings that
//! cannot work refused at build time with their own error.

use std::time::Duration;

use tessera_verify::{Options, OptionsError};

#[test]
fn the_defaults() {
    let o = Options::default();
    assert_eq!(o.leeway(), Duration::from_secs(60));
    assert!(!o.accept_plain_jwt_typ());
    assert_eq!(o.refetch_interval(), Duration::from_secs(30));
    assert_eq!(o.default_ttl(), Duration::from_secs(300));
    assert_eq!(o.max_token_bytes(), 16 * 1024);
    let built = Options::builder().build().unwrap();
    assert_eq!(format!("{built:?}"), format!("{o:?}"));
}

#[test]
fn every_setting_is_kept() {
    let o = Options::builder()
        .leeway(Duration::from_secs(5))
        .accept_plain_jwt_typ(true)
        .refetch_interval(Duration::from_millis(250))
        .default_ttl(Duration::from_secs(10))
        .max_token_bytes(100)
        .build()
        .unwrap();
    assert_eq!(o.leeway(), Duration::from_secs(5));
    assert!(o.accept_plain_jwt_typ());
    assert_eq!(o.refetch_interval(), Duration::from_millis(250));
    assert_eq!(o.default_ttl(), Duration::from_secs(10));
    assert_eq!(o.max_token_bytes(), 100);
}

#[test]
fn settings_that_cannot_work_are_refused_at_build_time() {
    assert_eq!(
        Options::builder()
            .refetch_interval(Duration::ZERO)
            .build()
            .unwrap_err(),
        OptionsError::ZeroRefetchInterval
    );
    assert_eq!(
        Options::builder().max_token_bytes(0).build().unwrap_err(),
        OptionsError::ZeroMaxTokenBytes
    );
    // The smallest working values are fine.
    Options::builder()
        .refetch_interval(Duration::from_nanos(1))
        .max_token_bytes(1)
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
}
