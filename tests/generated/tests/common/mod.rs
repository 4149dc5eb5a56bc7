//! Waiting helpers shared by the generated-code tests.

use std::time::Duration;

use safething::Client;

/// How long a test waits for anything before failing.
const PATIENCE: Duration = Duration::from_secs(10);

/// Awaits `f`, failing the test with `what` after [`PATIENCE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Retries `f` (e.g. a typed `connect`) until the thing answers.
pub async fn connect<C>(
    client: &Client,
    id: &str,
    f: impl AsyncFn(&Client, &str) -> safething::Result<C>,
) -> C {
    within("the thing to answer", async {
        loop {
            match f(client, id).await {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
}
