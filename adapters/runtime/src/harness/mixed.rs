//! Scenarios with clients of both profiles at once.

use stateful_logs::Profile;

use super::scenarios::{bind, send_lines, shutdown_clean};
use super::{AckCheck, BuildClient, DeliveryCheck, Patience, TestCore, fast_builder};

/// One intake serves both method paths on one port: a `v1` client (producer 0) and a `v2`
/// client (producer 1) send at the same time, interleaved; each delivers every line in order,
/// on streams of its own profile, and gets every ack.
pub async fn a_v1_and_a_v2_client_share_one_intake<B: BuildClient, C: TestCore>(adapter: &B) {
    let patience = &Patience::of(adapter.runtime());
    let intake = bind(C::intake()).await;
    let build = |profile: Profile| {
        adapter
            .build(fast_builder(&intake).profile(profile).batch_format(C::BATCH_FORMAT))
            .unwrap_or_else(|e| panic!("{profile} client: {e}"))
    };
    let (v1, v2) = (build(Profile::V1), build(Profile::V2));
    let (h1, h2) = (v1.handle(), v2.handle());
    const LINES: u32 = 200;
    for start in (0..LINES).step_by(20) {
        send_lines::<C>(Profile::V1, &h1, 0, start..start + 20).await;
        send_lines::<C>(Profile::V2, &h2, 1, start..start + 20).await;
    }
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, LINES), (1, LINES)]).await;
    AckCheck::new(patience).wait_for(&v1, &[(0, LINES)]).await;
    AckCheck::new(patience).wait_for(&v2, &[(1, LINES)]).await;
    assert_eq!(deliveries.profiles.get(&0), Some(&Profile::V1));
    assert_eq!(deliveries.profiles.get(&1), Some(&Profile::V2));
    assert_eq!(deliveries.duplicates, 0);
    assert!(deliveries.streams.len() >= 2, "one stream per client: {:?}", deliveries.streams);
    shutdown_clean(v1).await;
    shutdown_clean(v2).await;
}
