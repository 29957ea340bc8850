//! Random ioctls against the real module: random command numbers (ours and
//! others), sizes, and arguments (valid-looking structs, garbage, NULL, unmapped
//! and kernel addresses). Passes if the kernel survives with a clean log (checked
//! by the harness) and every call returns a documented errno.

use crate::util::{open_device, unmapped_addr, Mapping, TestResult};
use milspec_abi::*;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

const CMDS: [u32; 7] = ALL_COMMANDS;

fn struct_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

/// A valid request for `cmd` (random plausible values; arrays at `array`).
fn well_formed(rng: &mut fastrand::Rng, cmd: u32, array: usize, allow_locking: bool) -> Vec<u8> {
    let array = array as u64;
    match cmd {
        IOC_GET_INFO => Info::request().to_bytes().to_vec(),
        IOC_GET_STATUS => Status::request().to_bytes().to_vec(),
        IOC_SET_LEVEL => {
            let top = if allow_locking { 5 } else { 3 };
            let mut r = LevelRequest::new(SecurityLevel::Standard);
            r.level = rng.u32(0..top);
            r.to_bytes().to_vec()
        }
        IOC_GET_EVENTS => EventsRequest::new(rng.u64(0..2000), array, rng.u32(0..40))
            .to_bytes()
            .to_vec(),
        IOC_SET_ALLOWLIST => AllowlistRequest::new(array, rng.u32(0..4))
            .to_bytes()
            .to_vec(),
        IOC_GET_REFUSALS => RefusalsRequest::new(array, rng.u32(0..20))
            .to_bytes()
            .to_vec(),
        _ => TokensRequest::new(array, rng.u32(0..8)).to_bytes().to_vec(),
    }
}

/// Runs `iters` random ioctls; with `allow_locking` false, SET_LEVEL requests for
/// paranoid and above are turned into no-op levels so the module stays unloadable.
pub fn run(iters: u64, seed: u64, allow_locking: bool) -> TestResult {
    let dev = open_device()?;
    let fd = dev.fd().as_raw_fd();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = Mapping::new(64 * 1024)?;
    let unmapped = unmapped_addr()?;
    let mut errnos: BTreeMap<i32, u64> = BTreeMap::new();
    let mut scratch = vec![0u8; 4096];
    for _ in 0..iters {
        let cmd = match rng.u8(..10) {
            0..=3 => CMDS[rng.usize(..CMDS.len())],
            4..=6 => {
                // our magic, random number, direction and size
                ioc(rng.u32(0..4), rng.u32(0..16), rng.usize(0..0x4000))
            }
            _ => rng.u32(..),
        };
        let size = struct_size(cmd).min(4096);
        if CMDS.contains(&cmd) && rng.u8(..10) < 3 {
            // a well-formed request with plausible values
            let bytes = well_formed(&mut rng, cmd, buf.addr() + 8192, allow_locking);
            let off = rng.usize(..4096);
            buf.write(off, &bytes);
            // SAFETY: as below; the pointers inside point into `buf`.
            let rc = unsafe { libc::ioctl(fd, cmd as libc::c_ulong, buf.addr() + off) };
            let errno = if rc < 0 {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
            } else {
                0
            };
            *errnos.entry(errno).or_default() += 1;
            continue;
        }
        let arg = match rng.u8(..10) {
            0..=4 => {
                // a struct in mapped memory: random bytes, often a valid header
                rng.fill(&mut scratch[..size]);
                if size >= 4 && rng.bool() {
                    scratch[..4].copy_from_slice(&(size as u32).to_ne_bytes());
                    // zero the tail (reserved) half the time
                    if rng.bool() && size > 8 {
                        let tail = size - size / 4;
                        scratch[tail..size].fill(0);
                    }
                    // pointers inside the struct at offset 8/16: into our buffer
                    if size >= 24 && rng.bool() {
                        let p = (buf.addr() + 8192 + rng.usize(..4096)) as u64;
                        let off = if rng.bool() { 8 } else { 16 };
                        scratch[off..off + 8].copy_from_slice(&p.to_ne_bytes());
                    }
                    // keep counts small enough to be interesting
                    if size >= 8 && rng.bool() {
                        scratch[4..8].copy_from_slice(&rng.u32(0..80).to_ne_bytes());
                    }
                }
                if cmd == IOC_SET_LEVEL && !allow_locking && size >= 8 {
                    let l = u32::from_ne_bytes([scratch[4], scratch[5], scratch[6], scratch[7]]);
                    if (3..=4).contains(&l) {
                        scratch[4..8].copy_from_slice(&1u32.to_ne_bytes());
                    }
                }
                let off = rng.usize(..4096);
                buf.write(off, &scratch[..size]);
                buf.addr() + off
            }
            5 => 0,
            6 => rng.usize(1..4096),
            7 => unmapped,
            8 => 0xffff_8000_0000_0000 + rng.usize(..1 << 40),
            _ => rng.usize(..),
        };
        // SAFETY: fuzzing on purpose; the only memory the kernel may write is our
        // own buffer mapping.
        let rc = unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) };
        let errno = if rc < 0 {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        } else {
            0
        };
        *errnos.entry(errno).or_default() += 1;
    }
    let documented = [
        0,
        libc::ENOTTY,
        libc::EFAULT,
        libc::EINVAL,
        libc::EPERM,
        libc::EBUSY,
    ];
    let summary: Vec<String> = errnos.iter().map(|(e, n)| format!("{e}:{n}")).collect();
    println!(
        "# fuzz: {iters} ioctls (seed {seed:#x}), results errno:count {}",
        summary.join(" ")
    );
    match errnos.keys().find(|e| !documented.contains(e)) {
        Some(e) => Err(format!("undocumented errno {e}")),
        None => Ok(()),
    }
}
