//! The measured posture buffer: SHA-256 against the `sha2` crate, one encoding per
//! posture, and the allowlist digest's normalisation.

use milspec_abi::{
    allowlist_digest, sha256, MeasureReason, Posture, PostureBuf, PostureError, SecurityLevel,
    Sha256, NAME_LEN, POSTURE_MAX,
};
use sha2::Digest;

#[test]
fn the_c_names_are_the_rust_names() {
    assert_eq!(
        milspec_abi::IMA_LABEL_C.to_str(),
        Ok(milspec_abi::IMA_LABEL)
    );
    assert_eq!(
        milspec_abi::IMA_EVENT_NAME_C.to_str(),
        Ok(milspec_abi::IMA_EVENT_NAME)
    );
}

fn reference(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

#[test]
fn sha256_matches_the_sha2_crate_at_every_padding_boundary() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
    for len in 0..data.len() {
        assert_eq!(
            sha256(&data[..len]),
            reference(&data[..len]),
            "length {len}"
        );
    }
    // Fed in pieces.
    let mut s = Sha256::new();
    for piece in data.chunks(13) {
        s.update(piece);
    }
    assert_eq!(s.finish(), reference(&data));
}

fn name(s: &str) -> [u8; NAME_LEN] {
    let mut raw = [0u8; NAME_LEN];
    raw[..s.len()].copy_from_slice(s.as_bytes());
    raw
}

#[test]
fn allowlist_digest_depends_on_the_set_only() {
    let mut a = [name("snd-hda"), name("e1000e"), name("e1000e")];
    let mut b = [name("e1000e"), name("snd_hda")];
    let (na, da) = allowlist_digest(&mut a);
    let (nb, db) = allowlist_digest(&mut b);
    assert_eq!((na, da), (2, db));
    assert_eq!(nb, 2);
    assert_eq!(da, reference(b"e1000e\nsnd_hda\n"));
    let (n0, d0) = allowlist_digest(&mut []);
    assert_eq!((n0, d0), (0, reference(b"")));
    let mut c = [name("e1000e")];
    assert_ne!(allowlist_digest(&mut c).1, da);
}

fn sample() -> Posture<'static> {
    Posture {
        seq: 3,
        reason: MeasureReason::Level,
        module_version: "0.1.0",
        abi: 1,
        level: SecurityLevel::ParanoidPlus,
        locked: true,
        allowlist_entries: 2,
        allowlist_sha256: reference(b"e1000e\nsnd_hda\n"),
    }
}

#[test]
fn encode_is_the_documented_line_and_parses_back() {
    let mut buf = PostureBuf::new();
    sample().encode(&mut buf).unwrap();
    let text = std::str::from_utf8(buf.as_bytes()).unwrap();
    let hex: String = reference(b"e1000e\nsnd_hda\n")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        text,
        format!(
            "milspec-posture/1 seq=3 reason=level module=0.1.0 abi=1 level=paranoid_plus locked=yes allowlist=2:{hex}"
        )
    );
    assert_eq!(Posture::parse(buf.as_bytes()), Ok(sample()));
}

#[test]
fn parse_refuses_every_other_spelling() {
    let mut buf = PostureBuf::new();
    sample().encode(&mut buf).unwrap();
    let good = std::str::from_utf8(buf.as_bytes()).unwrap().to_owned();
    let cases = [
        (
            good.replace("milspec-posture/1", "milspec-posture/2"),
            PostureError::Magic,
        ),
        (good.replace("seq=3", "seq=03"), PostureError::Field("seq")),
        (
            good.replace("seq=3 ", "seq=3  "),
            PostureError::Field("reason"),
        ),
        (
            good.replace("level=paranoid_plus", "level=4"),
            PostureError::Field("level"),
        ),
        (
            good.replace("locked=yes", "locked=1"),
            PostureError::Field("locked"),
        ),
        (
            good.replace("allowlist=2:", "allowlist=2:A"),
            PostureError::Field("allowlist"),
        ),
        (format!("{good}\n"), PostureError::Field("allowlist")),
        (format!("{good} extra=1"), PostureError::Trailing),
        (good.replace(" abi=1", ""), PostureError::Field("abi")),
    ];
    for (text, want) in cases {
        assert_eq!(Posture::parse(text.as_bytes()), Err(want), "{text}");
    }
}

#[test]
fn a_long_version_does_not_overflow_the_buffer() {
    let long = "9".repeat(POSTURE_MAX);
    let p = Posture {
        module_version: &long,
        ..sample()
    };
    let mut buf = PostureBuf::new();
    assert!(p.encode(&mut buf).is_err());
    assert!(buf.as_bytes().len() <= POSTURE_MAX);
}
