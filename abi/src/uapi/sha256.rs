// SPDX-License-Identifier: GPL-2.0 OR MIT
//! SHA-256 (FIPS 180-4), written for this crate so that the module can digest its
//! allowlist without the kernel's crypto API (not reachable from 6.12's Rust, and
//! not in every kernel the module builds for). Host tests compare it with the
//! `sha2` crate. Not constant-time: it only hashes public data (module names).

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Length of a SHA-256 digest in bytes.
pub const SHA256_LEN: usize = 32;

/// An incremental SHA-256 computation.
#[derive(Clone)]
pub struct Sha256 {
    h: [u32; 8],
    block: [u8; 64],
    filled: usize,
    total: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    /// A fresh computation.
    pub const fn new() -> Self {
        Sha256 {
            h: H0,
            block: [0; 64],
            filled: 0,
            total: 0,
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        for &b in data {
            self.push(b);
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.block.get_mut(self.filled) {
            *slot = b;
        }
        self.filled += 1;
        if self.filled == 64 {
            let block = self.block;
            compress(&mut self.h, &block);
            self.filled = 0;
        }
    }

    /// The digest of everything added.
    pub fn finish(mut self) -> [u8; SHA256_LEN] {
        let bits = self.total.wrapping_mul(8);
        self.push(0x80);
        while self.filled != 56 {
            self.push(0);
        }
        for b in bits.to_be_bytes() {
            self.push(b);
        }
        // Index loops over fixed arrays rather than iterator adapters: the bounds
        // are constant, and the kernel's objtool does not know the no-return paths
        // of `zip`/`chunks_exact` in debug-assertion builds.
        let mut out = [0u8; SHA256_LEN];
        let mut i = 0;
        while i < 8 {
            let b = self.h[i].to_be_bytes();
            out[4 * i] = b[0];
            out[4 * i + 1] = b[1];
            out[4 * i + 2] = b[2];
            out[4 * i + 3] = b[3];
            i += 1;
        }
        out
    }
}

/// SHA-256 of `data` in one call.
pub fn sha256(data: &[u8]) -> [u8; SHA256_LEN] {
    let mut s = Sha256::new();
    s.update(data);
    s.finish()
}

fn compress(h: &mut [u32; 8], block: &[u8; 64]) {
    // A 16-word rolling message schedule: `i & 15` never leaves the array.
    let mut w = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        w[i] = u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
        i += 1;
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for (i, k) in K.iter().enumerate() {
        if i >= 16 {
            let w15 = w[(i - 15) & 15];
            let w2 = w[(i - 2) & 15];
            let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
            let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
            w[i & 15] = w[i & 15]
                .wrapping_add(s0)
                .wrapping_add(w[(i - 7) & 15])
                .wrapping_add(s1);
        }
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(*k)
            .wrapping_add(w[i & 15]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    let v = [a, b, c, d, e, f, g, hh];
    let mut i = 0;
    while i < 8 {
        h[i] = h[i].wrapping_add(v[i]);
        i += 1;
    }
}
