//! A storage backend for tests: a disk that fills up.

/// A disk that fills up at `limit` bytes (shared, so a test can "free space" and reopen).
#[derive(Debug, Clone)]
pub struct SmallDisk {
    pub inner: std::sync::Arc<redb::backends::InMemoryBackend>,
    pub limit: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SmallDisk {
    fn full(&self, end: u64) -> std::io::Result<()> {
        if end > self.limit.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            ));
        }
        Ok(())
    }
}

impl redb::StorageBackend for SmallDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.full(len)?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.full(offset + data.len() as u64)?;
        self.inner.write(offset, data)
    }
}

impl SmallDisk {
    /// An empty disk of `limit` bytes.
    pub fn new(limit: u64) -> SmallDisk {
        SmallDisk {
            inner: std::sync::Arc::new(redb::backends::InMemoryBackend::new()),
            limit: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(limit)),
        }
    }
}
