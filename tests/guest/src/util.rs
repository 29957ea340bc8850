//! Helpers for the in-guest tests: raw ioctls with arbitrary arguments, pages with
//! chosen protections, and small assertions.

use milspec_host::device::Device;
use std::path::Path;

pub type TestResult = Result<(), String>;

pub fn check(cond: bool, msg: impl FnOnce() -> String) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// ioctl(2) with any command and argument; `Err(errno)` on failure.
pub fn raw_ioctl(fd: i32, cmd: u32, arg: usize) -> Result<i32, i32> {
    // SAFETY: the kernel validates `arg`; tests pass bad pointers on purpose, and
    // the only memory the kernel may write is what the test provides as a buffer.
    let rc = unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) };
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(rc)
    }
}

pub fn open_device() -> Result<Device, String> {
    Device::open(Path::new(milspec_abi::DEVICE_PATH)).map_err(|e| e.to_string())
}

/// An anonymous mapping of `len` bytes, unmapped on drop.
pub struct Mapping {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Mapping {
    pub fn new(len: usize) -> Result<Self, String> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err("mmap failed".into());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is readable for `len` bytes while `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn write(&mut self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.len);
        // SAFETY: in bounds of the writable mapping (checked above).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(offset), data.len()) };
    }

    pub fn protect(&self, prot: i32) {
        // SAFETY: changes protection of our own mapping only.
        unsafe { libc::mprotect(self.ptr.cast(), self.len, prot) };
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in `new`; nothing refers to it.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// An address where nothing can be read or written: a PROT_NONE page that stays
/// reserved for the life of the process (so no later mapping can land there).
pub fn unmapped_addr() -> Result<usize, String> {
    // SAFETY: a fresh anonymous PROT_NONE mapping, deliberately never unmapped.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err("mmap failed".into());
    }
    Ok(p as usize)
}

/// Runs this binary again as `uid` with `args`; Ok if it exits 0.
pub fn run_as(uid: u32, args: &[&str]) -> TestResult {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(me)
        .args(args)
        .uid(uid)
        .gid(uid)
        .output()
        .map_err(|e| e.to_string())?;
    // Pass the child's figures (`# ...` lines) through.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("# ") {
            println!("{line}");
        }
    }
    check(out.status.success(), || {
        format!(
            "as uid {uid}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}
