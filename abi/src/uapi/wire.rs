// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Wire encoding: field-by-field, native-endian (de)serialisation of the ioctl
//! structs without transmutes, and the `wire_struct!` macro that defines them.

use super::types::AbiError;

/// Encoding of one field type on the wire (native endianness).
pub(super) trait Wire: Sized {
    fn put(&self, w: &mut Writer<'_>);
    fn get(r: &mut Reader<'_>) -> Self;
}

impl Wire for u16 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u16::from_ne_bytes(r.array())
    }
}

impl Wire for u32 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u32::from_ne_bytes(r.array())
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u64::from_ne_bytes(r.array())
    }
}

impl<const N: usize> Wire for [u8; N] {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(self);
    }
    fn get(r: &mut Reader<'_>) -> Self {
        r.array()
    }
}

/// Defines a wire struct: `#[repr(C)]`, a compile-time size check (which also
/// proves there is no hidden padding, since `SIZE` is the sum of the fields), and
/// field-by-field `to_bytes`/`from_bytes`.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident [$size:expr] {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(C)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);

        impl $name {
            /// Size in bytes on the wire.
            pub const SIZE: usize = $size;

            /// All fields zero.
            pub fn zeroed() -> Self {
                Self::from_bytes(&[0u8; $size])
            }

            /// Wire representation.
            pub fn to_bytes(self) -> [u8; $size] {
                let mut out = [0u8; $size];
                let mut w = Writer::new(&mut out);
                $( Wire::put(&self.$field, &mut w); )*
                out
            }

            /// Decodes the wire representation (no validation).
            pub fn from_bytes(raw: &[u8; $size]) -> Self {
                let mut r = Reader::new(raw);
                $name { $( $field: Wire::get(&mut r), )* }
            }
        }
    };
}
pub(super) use wire_struct;

/// Checks the `size` field and that `reserved` is all zero.
pub(super) fn check_header(size: u32, expected: usize, reserved: &[u8]) -> Result<(), AbiError> {
    if size as usize != expected {
        return Err(AbiError::BadSize);
    }
    if reserved.iter().any(|&b| b != 0) {
        return Err(AbiError::ReservedNotZero);
    }
    Ok(())
}

/// Copies `s` into a NUL-padded array, truncated so that a NUL always follows.
pub fn fixed_str<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (dst, src) in out.iter_mut().take(N.saturating_sub(1)).zip(s.bytes()) {
        *dst = src;
    }
    out
}

/// The string in a NUL-padded array up to the first NUL; `None` if not UTF-8.
pub fn fixed_str_get(raw: &[u8]) -> Option<&str> {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    core::str::from_utf8(raw.get(..len)?).ok()
}

/// Sequential writer over a fixed buffer. Writing past the end is a no-op for the
/// excess bytes instead of a panic; the size asserts keep layouts in range.
pub(super) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(super) fn bytes(&mut self, src: &[u8]) {
        let dst = self.buf.iter_mut().skip(self.pos);
        for (d, s) in dst.zip(src) {
            *d = *s;
        }
        self.pos += src.len();
    }
}

/// Sequential reader over a fixed buffer; bytes past the end read as zero.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for (d, s) in out.iter_mut().zip(self.buf.iter().skip(self.pos)) {
            *d = *s;
        }
        self.pos += N;
        out
    }
}
