//! One operation on the store at a time. Every command that opens the store
//! (and may therefore recover or change it) holds an exclusive `flock` on
//! `<store>/lock` until it is done, so that two commands (an admin's, a fleet
//! rollout's, milspecd's rollback action) never interleave their journals. The
//! holder's PID is written into the file, for the message of the one waiting.
//! The kernel releases the lock when the holder exits, however it exits.

use super::error::{io_err, StoreError};
use super::Store;
use crate::fsutil::open_lock_file;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::time::{Duration, Instant};

/// How often a waiting command tries again.
const RETRY: Duration = Duration::from_millis(20);

/// The store's lock, held until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _flock: Flock<File>,
}

impl Store {
    /// Takes the store's lock, waiting up to `wait` while another process
    /// holds it ([`StoreError::Busy`] after that).
    pub fn lock(&self, wait: Duration) -> Result<StoreLock, StoreError> {
        let path = self.dir.join("lock");
        let mut file = open_lock_file(&path).map_err(io_err(&path))?;
        let deadline = Instant::now() + wait;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(mut held) => {
                    // Only a hint for whoever waits: a failure to write it
                    // does not matter.
                    let _ = held
                        .set_len(0)
                        .and_then(|()| held.rewind())
                        .and_then(|()| writeln!(held, "{}", std::process::id()));
                    return Ok(StoreLock { _flock: held });
                }
                Err((mut f, Errno::EWOULDBLOCK)) => {
                    if Instant::now() >= deadline {
                        let mut pid = String::new();
                        let _ = f.rewind().and_then(|()| f.read_to_string(&mut pid));
                        return Err(StoreError::Busy {
                            holder: pid.trim().parse().ok(),
                            waited: wait,
                        });
                    }
                    file = f;
                    std::thread::sleep(RETRY);
                }
                Err((_, e)) => return Err(io_err(&path)(e.into())),
            }
        }
    }
}
