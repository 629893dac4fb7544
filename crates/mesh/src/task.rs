//! Background tasks that end with their owner.

use tokio::task::JoinHandle;

/// Aborts the task when dropped: health checks die with their endpoint, DNS refreshes and the
/// discovery driver with their client.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
