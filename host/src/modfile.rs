//! Reading a kernel module file (`.ko`) without `modinfo`: ELF checks, the
//! `.modinfo` section, and the appended module signature.

use object::{Architecture, BinaryFormat, Object, ObjectKind, ObjectSection};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Trailer the kernel's `sign-file` appends after the signature.
pub const SIG_MAGIC: &[u8] = b"~Module signature appended~\n";
/// `struct module_signature`: algo, hash, id_type, signer_len, key_id_len,
/// 3 pad bytes, big-endian u32 sig_len.
const SIG_INFO_LEN: usize = 12;
/// `id_type` of a PKCS#7 signature (the only kind current kernels produce).
pub const PKEY_ID_PKCS7: u8 = 2;

/// Why a file is not a usable module.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModFileError {
    #[error("not an ELF file")]
    NotElf,
    #[error("not a valid ELF object: {0}")]
    BadElf(String),
    #[error("built for {0}, but this machine is x86_64")]
    WrongArch(String),
    #[error("not a kernel module: ELF type is {0}, expected a relocatable object")]
    NotRelocatable(String),
    #[error("not a kernel module: no .modinfo section")]
    NoModinfo,
    #[error(".modinfo entry {0:?} is not key=value text")]
    BadModinfo(String),
    #[error(".modinfo has no {0:?} entry")]
    MissingKey(&'static str),
    #[error("the appended signature is truncated or malformed")]
    BadSignature,
}

/// The appended signature: header fields and, for PKCS#7, who signed it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// `id_type` (2 = PKCS#7).
    pub id_type: u8,
    /// Length of the signature blob (PKCS#7 DER).
    pub sig_len: u32,
    /// Common name of the signing certificate's issuer (what `modinfo` calls
    /// `signer`).
    #[serde(default)]
    pub signer: Option<String>,
    /// Serial number of the signing certificate, hex (`modinfo`'s `sig_key`).
    #[serde(default)]
    pub key_id: Option<String>,
    /// Digest algorithm (`sha256`, ...).
    #[serde(default)]
    pub hash_algo: Option<String>,
}

/// What a module file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModFile {
    pub sha256: String,
    pub size: u64,
    pub name: String,
    pub version: Option<String>,
    pub vermagic: String,
    pub srcversion: Option<String>,
    /// Every `.modinfo` entry (repeated keys, like `parm`, joined with `\n`).
    pub modinfo: BTreeMap<String, String>,
    pub signature: Option<Signature>,
}

/// The appended signature, if any, and the length of the ELF part before it.
fn split_signature(bytes: &[u8]) -> Result<(usize, Option<Signature>), ModFileError> {
    let Some(body_end) = bytes.len().checked_sub(SIG_MAGIC.len()) else {
        return Ok((bytes.len(), None));
    };
    if bytes.get(body_end..) != Some(SIG_MAGIC) {
        return Ok((bytes.len(), None));
    }
    let info_start = body_end
        .checked_sub(SIG_INFO_LEN)
        .ok_or(ModFileError::BadSignature)?;
    let info = bytes
        .get(info_start..body_end)
        .ok_or(ModFileError::BadSignature)?;
    let [_algo, _hash, id_type, signer_len, key_id_len, _, _, _, l0, l1, l2, l3] = *info else {
        return Err(ModFileError::BadSignature);
    };
    let sig_len = u32::from_be_bytes([l0, l1, l2, l3]);
    let extra = usize::from(signer_len) + usize::from(key_id_len) + sig_len as usize;
    let elf_end = info_start
        .checked_sub(extra)
        .ok_or(ModFileError::BadSignature)?;
    if sig_len == 0 {
        return Err(ModFileError::BadSignature);
    }
    let blob = bytes
        .get(info_start - sig_len as usize..info_start)
        .ok_or(ModFileError::BadSignature)?;
    let signer = if id_type == PKEY_ID_PKCS7 {
        pkcs7::signer(blob)
    } else {
        None
    };
    Ok((
        elf_end,
        Some(Signature {
            id_type,
            sig_len,
            signer: signer.as_ref().and_then(|s| s.issuer_cn.clone()),
            key_id: signer.as_ref().map(|s| s.serial_hex.clone()),
            hash_algo: signer.and_then(|s| s.digest),
        }),
    ))
}

/// Just enough DER to find the signer of a kernel module's PKCS#7 signature
/// (ContentInfo → SignedData → first SignerInfo → issuerAndSerialNumber and
/// digestAlgorithm). Returns `None` on anything unexpected; the signature itself is
/// verified by the kernel, not here.
mod pkcs7 {
    pub(super) struct Signer {
        pub(super) issuer_cn: Option<String>,
        pub(super) serial_hex: String,
        pub(super) digest: Option<String>,
    }

    /// One DER element: (tag, contents, rest of the input).
    fn tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = buf.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let (lenb, rest) = (rest.get(..n)?, rest.get(n..)?);
            (
                lenb.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
                rest,
            )
        };
        Some((tag, rest.get(..len)?, rest.get(len..)?))
    }

    /// The elements inside a constructed element's contents.
    fn items(mut body: &[u8]) -> Vec<(u8, &[u8])> {
        let mut out = Vec::new();
        while let Some((t, v, rest)) = tlv(body) {
            out.push((t, v));
            body = rest;
        }
        out
    }

    const SEQ: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const INT: u8 = 0x02;
    const CN: &[u8] = &[0x55, 0x04, 0x03];

    fn digest_name(oid: &[u8]) -> Option<&'static str> {
        Some(match oid {
            [0x2b, 0x0e, 0x03, 0x02, 0x1a] => "sha1",
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01] => "sha256",
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02] => "sha384",
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03] => "sha512",
            [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04] => "sha224",
            _ => return None,
        })
    }

    pub(super) fn signer(der: &[u8]) -> Option<Signer> {
        let (SEQ, content_info, _) = tlv(der)? else {
            return None;
        };
        let ci = items(content_info);
        let (0xa0, explicit) = *ci.get(1)? else {
            return None;
        };
        let (SEQ, signed_data, _) = tlv(explicit)? else {
            return None;
        };
        let (_, signer_infos) = *items(signed_data).iter().rev().find(|(t, _)| *t == SET)?;
        let (SEQ, signer_info, _) = tlv(signer_infos)? else {
            return None;
        };
        let si = items(signer_info);
        let (SEQ, iasn) = *si.get(1)? else {
            return None;
        };
        let parts = items(iasn);
        let (SEQ, issuer) = *parts.first()? else {
            return None;
        };
        let (INT, serial) = *parts.get(1)? else {
            return None;
        };
        let issuer_cn = items(issuer).iter().find_map(|&(t, rdn)| {
            if t != SET {
                return None;
            }
            let (SEQ, atv, _) = tlv(rdn)? else {
                return None;
            };
            let av = items(atv);
            match (av.first(), av.get(1)) {
                (Some(&(OID, oid)), Some(&(_, value))) if oid == CN => {
                    std::str::from_utf8(value).ok().map(str::to_owned)
                }
                _ => None,
            }
        });
        let digest = si.get(2).and_then(|&(t, alg)| {
            if t != SEQ {
                return None;
            }
            match items(alg).first() {
                Some(&(OID, oid)) => digest_name(oid).map(str::to_owned),
                _ => None,
            }
        });
        Some(Signer {
            issuer_cn,
            serial_hex: hex::encode_upper(serial),
            digest,
        })
    }
}

/// Inspects the bytes of a `.ko` file.
pub fn inspect(bytes: &[u8]) -> Result<ModFile, ModFileError> {
    if !bytes.starts_with(b"\x7fELF") {
        return Err(ModFileError::NotElf);
    }
    let (elf_end, signature) = split_signature(bytes)?;
    let elf = bytes.get(..elf_end).ok_or(ModFileError::BadSignature)?;
    let file = object::File::parse(elf).map_err(|e| ModFileError::BadElf(e.to_string()))?;
    if file.format() != BinaryFormat::Elf {
        return Err(ModFileError::NotElf);
    }
    if file.architecture() != Architecture::X86_64 {
        return Err(ModFileError::WrongArch(format!(
            "{:?}",
            file.architecture()
        )));
    }
    if file.kind() != ObjectKind::Relocatable {
        return Err(ModFileError::NotRelocatable(format!("{:?}", file.kind())));
    }
    let section = file
        .section_by_name(".modinfo")
        .ok_or(ModFileError::NoModinfo)?;
    let data = section
        .data()
        .map_err(|e| ModFileError::BadElf(e.to_string()))?;
    let mut modinfo: BTreeMap<String, String> = BTreeMap::new();
    for entry in data.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let text = std::str::from_utf8(entry)
            .map_err(|_| ModFileError::BadModinfo(String::from_utf8_lossy(entry).into()))?;
        let (k, v) = text
            .split_once('=')
            .ok_or_else(|| ModFileError::BadModinfo(text.into()))?;
        modinfo
            .entry(k.to_owned())
            .and_modify(|old| {
                old.push('\n');
                old.push_str(v);
            })
            .or_insert_with(|| v.to_owned());
    }
    let name = modinfo
        .get("name")
        .cloned()
        .ok_or(ModFileError::MissingKey("name"))?;
    let vermagic = modinfo
        .get("vermagic")
        .cloned()
        .ok_or(ModFileError::MissingKey("vermagic"))?;
    Ok(ModFile {
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len() as u64,
        name,
        version: modinfo.get("version").cloned(),
        vermagic,
        srcversion: modinfo.get("srcversion").cloned(),
        modinfo,
        signature,
    })
}

/// The kernel release a vermagic string is for (its first word).
pub fn vermagic_release(vermagic: &str) -> &str {
    vermagic.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fake_ko;

    fn fake_ko(modinfo: &[&str], arch: Architecture) -> Vec<u8> {
        fake_ko::elf_with_modinfo(modinfo, arch)
    }

    const GOOD: &[&str] = &[
        "version=1.0.1",
        "license=GPL",
        "parm=force:bool",
        "parm=level:charp",
        "srcversion=ABCDEF0123456789",
        "name=dell_milspec",
        "vermagic=6.12.117 SMP mod_unload ",
    ];

    #[test]
    fn reads_modinfo_of_an_unsigned_module() {
        let ko = fake_ko(GOOD, Architecture::X86_64);
        let m = inspect(&ko).unwrap();
        assert_eq!(m.name, "dell_milspec");
        assert_eq!(m.version.as_deref(), Some("1.0.1"));
        assert_eq!(m.srcversion.as_deref(), Some("ABCDEF0123456789"));
        assert_eq!(vermagic_release(&m.vermagic), "6.12.117");
        assert_eq!(m.modinfo["parm"], "force:bool\nlevel:charp");
        assert_eq!(m.signature, None);
        assert_eq!(m.size, ko.len() as u64);
        assert_eq!(m.sha256.len(), 64);
    }

    #[test]
    fn reads_an_appended_signature() {
        let mut ko = fake_ko(GOOD, Architecture::X86_64);
        let unsigned = inspect(&ko).unwrap();
        let sig = vec![0x30u8; 300];
        ko.extend_from_slice(&sig);
        ko.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
        ko.extend_from_slice(&(sig.len() as u32).to_be_bytes());
        ko.extend_from_slice(SIG_MAGIC);
        let m = inspect(&ko).unwrap();
        let sig = m.signature.as_ref().unwrap();
        assert_eq!((sig.id_type, sig.sig_len), (PKEY_ID_PKCS7, 300));
        assert_eq!(sig.signer, None, "garbage blob: no signer");
        assert_eq!(m.modinfo, unsigned.modinfo);
        assert_ne!(m.sha256, unsigned.sha256);
    }

    /// Signs like the kernel's sign-file does (CMS, DER, no certificates, no
    /// attributes) with a throwaway key made by openssl(1), then reads the signer.
    #[test]
    fn reads_the_signer_of_a_real_pkcs7_signature() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ko = fake_ko(GOOD, Architecture::X86_64);
        std::fs::write(d.join("m.ko"), &ko).unwrap();
        let run = |args: &[&str]| {
            let st = std::process::Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl(1) is needed for this test");
            assert!(
                st.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&st.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=milspec test signing key",
            "-set_serial",
            "0x1234ABCD",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ]);
        run(&[
            "cms", "-sign", "-binary", "-noattr", "-nocerts", "-outform", "DER", "-md", "sha256",
            "-signer", "cert.pem", "-inkey", "key.pem", "-in", "m.ko", "-out", "sig.der",
        ]);
        let sig = std::fs::read(d.join("sig.der")).unwrap();
        let mut signed = ko.clone();
        signed.extend_from_slice(&sig);
        signed.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
        signed.extend_from_slice(&(sig.len() as u32).to_be_bytes());
        signed.extend_from_slice(SIG_MAGIC);
        let s = inspect(&signed).unwrap().signature.unwrap();
        assert_eq!(s.signer.as_deref(), Some("milspec test signing key"));
        assert_eq!(s.key_id.as_deref(), Some("1234ABCD"));
        assert_eq!(s.hash_algo.as_deref(), Some("sha256"));
        // Every truncation and every single-byte corruption of a real
        // signature is handled without a panic (the walker returns None or a
        // partial answer, never reads out of bounds).
        for n in 0..sig.len() {
            let _ = pkcs7::signer(&sig[..n]);
        }
        for i in 0..sig.len().min(256) {
            let mut bad = sig.clone();
            bad[i] ^= 0xff;
            let _ = pkcs7::signer(&bad);
        }
    }

    #[test]
    fn refuses_bad_files_with_clear_errors() {
        assert_eq!(inspect(b"hello"), Err(ModFileError::NotElf));
        assert_eq!(inspect(b""), Err(ModFileError::NotElf));
        let ko = fake_ko(GOOD, Architecture::X86_64);
        assert!(matches!(inspect(&ko[..64]), Err(ModFileError::BadElf(_))));
        let arm = fake_ko(GOOD, Architecture::Aarch64);
        assert!(matches!(inspect(&arm), Err(ModFileError::WrongArch(_))));
        let no_name = fake_ko(&GOOD[..5], Architecture::X86_64);
        assert_eq!(inspect(&no_name), Err(ModFileError::MissingKey("name")));
        let garbage = fake_ko(&["no equals sign"], Architecture::X86_64);
        assert!(matches!(
            inspect(&garbage),
            Err(ModFileError::BadModinfo(_))
        ));
        // a signature trailer claiming more bytes than the file has
        let mut bad_sig = fake_ko(GOOD, Architecture::X86_64);
        bad_sig.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0]);
        bad_sig.extend_from_slice(&u32::MAX.to_be_bytes());
        bad_sig.extend_from_slice(SIG_MAGIC);
        assert_eq!(inspect(&bad_sig), Err(ModFileError::BadSignature));
    }

    #[test]
    fn a_shared_object_is_not_a_module() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        assert!(matches!(
            inspect(&exe),
            Err(ModFileError::NotRelocatable(_))
        ));
    }
}
