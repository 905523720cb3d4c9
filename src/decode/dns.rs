//! The DNS message, decoded with hickory-proto record by record.
//!
//! hickory's `Message::from_vec` is all-or-nothing: one bad record anywhere
//! fails the whole message. A forged answer followed by a deliberately broken
//! additional section would then vanish. So this module frames the message
//! itself (header, questions, then each record's owner, type, class, TTL and
//! RDLENGTH) and hands each piece to hickory: names to `Name::read`, record
//! data to `RData::read`. What decodes before a defect is kept; an RDATA that
//! does not decode is kept as RFC 3597 bytes, since its length still frames
//! the record and the records after it.
//!
//! hickory types stay in this file (and `name.rs`); the rest of the crate
//! sees [`DnsResponse`].

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, DecodeError, Restrict};

use super::name::{
    Escapes, NameError, presentation, push_escaped, read_presentation, write_presentation,
};
use crate::model::Malformed;
use crate::model::names::type_name;
use crate::model::{
    DnsFlags, DnsRecord, DnsResponse, DomainName, Edns, EdnsOption, PacketMeta, Question, Rdata,
};

const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_PTR: u16 = 12;
const TYPE_MX: u16 = 15;
const TYPE_SRV: u16 = 33;
const TYPE_OPT: u16 = 41;
const TYPE_DNAME: u16 = 39;
const TYPE_TXT: u16 = 16;
const TYPE_SPF: u16 = 99;

/// Records decoded per message at most. Ordinary responses hold a few
/// dozen; a 64 KiB message of compression pointers holds thousands, each
/// costing a whole name to decode, log and match.
pub const MAX_RECORDS_PER_MESSAGE: usize = 1024;
/// Decoded text (owner names and record data in presentation format) per
/// byte of message, at most; and the floor a small message always gets.
/// Compression lets a 2-byte pointer stand for a 255-byte name, so without
/// this bound a message decodes to a hundred times its size and more.
pub const DECODED_PER_WIRE_BYTE: usize = 8;
pub const DECODED_FLOOR: usize = 4096;

/// Decodes a DNS response. Fails only when not even the 12-byte header is
/// there; any later defect leaves what came before it in the result, with
/// `defect` set. Decoding stops at [`MAX_RECORDS_PER_MESSAGE`] records or
/// [`DECODED_PER_WIRE_BYTE`] bytes of text per message byte
/// (`dns_decode_budget`), keeping what came before.
pub fn decode_response(meta: PacketMeta, msg: &[u8]) -> Result<DnsResponse, Malformed> {
    let mut resp = DnsResponse::empty(meta);
    decode_response_into(meta, msg, &mut resp)?;
    Ok(resp)
}

/// [`decode_response`] into a response the caller keeps from one message
/// to the next: its record vectors keep their room, so a worker decodes
/// without allocating them again (their allocation and release were ~5%
/// of a benign run). Everything of the previous message is replaced;
/// after an error `resp` holds nothing of value.
pub fn decode_response_into(
    meta: PacketMeta,
    msg: &[u8],
    resp: &mut DnsResponse,
) -> Result<(), Malformed> {
    // The header's bit fields read here rather than through hickory's
    // `Header::read`, which builds enums for the opcode and RCODE this
    // crate keeps as numbers; both refuse only a message under 12 bytes.
    let mut dec = BinDecoder::new(msg);
    let header: [u8; 12] = read_fixed(&mut dec).map_err(|_| Malformed::DnsHeaderTruncated)?;
    let [
        id_hi,
        id_lo,
        flags_hi,
        flags_lo,
        qd_hi,
        qd_lo,
        an_hi,
        an_lo,
        ns_hi,
        ns_lo,
        ar_hi,
        ar_lo,
    ] = header;
    let bit = |byte: u8, mask: u8| byte & mask != 0;
    resp.meta = meta;
    resp.txid = u16::from_be_bytes([id_hi, id_lo]);
    resp.opcode = (flags_hi >> 3) & 0x0f;
    resp.rcode = flags_lo & 0x0f;
    resp.flags = DnsFlags {
        aa: bit(flags_hi, 0x04),
        tc: bit(flags_hi, 0x02),
        rd: bit(flags_hi, 0x01),
        ra: bit(flags_lo, 0x80),
        ad: bit(flags_lo, 0x20),
        cd: bit(flags_lo, 0x10),
    };
    let queries = u16::from_be_bytes([qd_hi, qd_lo]);
    resp.question = None;
    resp.answers.clear();
    resp.authority.clear();
    resp.additional.clear();
    resp.edns = None;
    resp.defect = None;

    let mut names = NameCache::default();
    for i in 0..queries {
        match read_question(msg, &mut dec, &mut names) {
            Ok(q) => {
                if i == 0 {
                    resp.question = Some(q);
                }
            }
            Err(e) => {
                resp.defect = Some(e);
                return Ok(());
            }
        }
    }

    let budget = msg
        .len()
        .saturating_mul(DECODED_PER_WIRE_BYTE)
        .max(DECODED_FLOOR);
    let mut decoded = 0usize;
    let mut records = 0usize;
    let sections = [
        (u16::from_be_bytes([an_hi, an_lo]), SectionSlot::Answers),
        (u16::from_be_bytes([ns_hi, ns_lo]), SectionSlot::Authority),
        (u16::from_be_bytes([ar_hi, ar_lo]), SectionSlot::Additional),
    ];
    for (count, slot) in sections {
        // One allocation per section rather than regrowth from nothing.
        // The count is the sender's claim: no more records than the rest
        // of the message could hold (11 bytes at least each) are reserved.
        let room = msg.len().saturating_sub(dec.index()) / 11;
        slot.of(resp)
            .reserve_exact(usize::from(count).min(room).min(MAX_RECORDS_PER_MESSAGE));
        for _ in 0..count {
            match read_record(msg, &mut dec, &mut names) {
                Ok(Parsed { record, defect }) => {
                    records += 1;
                    decoded = decoded.saturating_add(text_len(&record));
                    if records > MAX_RECORDS_PER_MESSAGE || decoded > budget {
                        resp.defect = Some(Malformed::DnsDecodeBudget);
                        return Ok(());
                    }
                    if defect.is_some() && resp.defect.is_none() {
                        resp.defect = defect;
                    }
                    if record.rtype == TYPE_OPT && slot == SectionSlot::Additional {
                        if resp.edns.is_none()
                            && let Some(edns) = edns_from(&record)
                        {
                            resp.edns = Some(edns);
                            continue;
                        }
                        // A second or undecodable OPT stays visible as a record.
                        resp.defect.get_or_insert(Malformed::DnsOptInvalid);
                    }
                    slot.of(resp).push(record);
                }
                Err(defect) => {
                    resp.defect = Some(defect);
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Bytes of text a record adds to what is logged and matched.
fn text_len(r: &DnsRecord) -> usize {
    let data = match &r.data {
        Rdata::A(_) => 15,
        Rdata::Aaaa(_) => 39,
        Rdata::Name(n) => n.len(),
        Rdata::Text(n) => n.len(),
        Rdata::Mx { exchange, .. } => exchange.len() + 6,
        Rdata::Srv { target, .. } => target.len() + 18,
        Rdata::Soa { mname, rname, .. } => mname.len() + rname.len() + 55,
        Rdata::Opaque(b) => 2 * b.len() + 8,
    };
    r.name.len() + data
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SectionSlot {
    Answers,
    Authority,
    Additional,
}

impl SectionSlot {
    fn of(self, resp: &mut DnsResponse) -> &mut Vec<DnsRecord> {
        match self {
            SectionSlot::Answers => &mut resp.answers,
            SectionSlot::Authority => &mut resp.authority,
            SectionSlot::Additional => &mut resp.additional,
        }
    }
}

fn read_question(
    msg: &[u8],
    dec: &mut BinDecoder<'_>,
    names: &mut NameCache,
) -> Result<Question, Malformed> {
    let name = names.read(msg, dec)?;
    let [t_hi, t_lo, c_hi, c_lo] = read_fixed(dec)?;
    let (qtype, qclass) = (
        u16::from_be_bytes([t_hi, t_lo]),
        u16::from_be_bytes([c_hi, c_lo]),
    );
    Ok(Question {
        name,
        qtype,
        qclass,
    })
}

/// The names of one message already decoded, by the offset where each
/// began. Answers almost always name their owner by a pointer to the
/// question (or to a CNAME target), so the owner is copied from here
/// instead of decoded and formatted again; a compression-pointer flood
/// (thousands of pointers to one 250-byte name) then costs a copy per
/// record, not a decode. A name read at offset `p` is exactly the name any
/// valid pointer to `p` stands for, and pointers may only point backwards,
/// to offsets this cache has already seen.
#[derive(Default)]
struct NameCache {
    /// (offset, presentation); a handful of slots, overwritten in turn, so
    /// a lookup is a short scan whatever the message holds. Empty slots
    /// are `None`, not empty names: an empty `Arc<str>` is an allocation,
    /// and a cache is made for every message.
    slots: [Option<(usize, DomainName)>; NAME_CACHE_SLOTS],
    next: usize,
}

const NAME_CACHE_SLOTS: usize = 8;

impl NameCache {
    /// Reads the name at the decoder's position in presentation format.
    fn read(&mut self, msg: &[u8], dec: &mut BinDecoder<'_>) -> Result<DomainName, Malformed> {
        let start = dec.index();
        if let Some(target) = pointer_at(msg, start)
            && let Some(name) = self.get(target)
        {
            dec.read_slice(2).map_err(|_| Malformed::DnsTruncated)?;
            return Ok(name);
        }
        // Formatted into a buffer kept by the thread, then shared: one
        // allocation per new name, whatever its length.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> =
                std::cell::RefCell::new(Vec::with_capacity(1024));
        }
        let (name, end) = SCRATCH.with_borrow_mut(|text| {
            text.clear();
            let end = read_presentation(msg, start, text).map_err(name_defect)?;
            // Presentation format is printable ASCII, so the check passes:
            // one validation per name rather than one per label.
            let name = match std::str::from_utf8(text) {
                Ok(text) => DomainName::from(text),
                Err(_) => DomainName::from(String::from_utf8_lossy(text).as_ref()),
            };
            Ok::<_, Malformed>((name, end))
        })?;
        dec.read_slice(end.saturating_sub(start))
            .map_err(|_| Malformed::DnsTruncated)?;
        self.put(start, name.clone());
        Ok(name)
    }

    fn get(&self, offset: usize) -> Option<DomainName> {
        self.slots
            .iter()
            .flatten()
            .find(|(at, _)| *at == offset)
            .map(|(_, name)| name.clone())
    }

    fn put(&mut self, offset: usize, name: DomainName) {
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Some((offset, name));
        }
        self.next = (self.next + 1) % NAME_CACHE_SLOTS;
    }
}

/// The offset a name that is just a compression pointer points at.
fn pointer_at(msg: &[u8], at: usize) -> Option<usize> {
    match msg.get(at..at + 2)? {
        [hi, lo] if hi & 0xc0 == 0xc0 => Some(usize::from(u16::from_be_bytes([hi & 0x3f, *lo]))),
        _ => None,
    }
}

struct Parsed {
    record: DnsRecord,
    /// The record's data did not decode; it is kept as opaque bytes.
    defect: Option<Malformed>,
}

/// Reads one resource record. An error means the record could not even be
/// framed, so nothing after it can be trusted.
fn read_record(
    msg: &[u8],
    dec: &mut BinDecoder<'_>,
    names: &mut NameCache,
) -> Result<Parsed, Malformed> {
    let owner = names.read(msg, dec)?;
    // Type, class, TTL and RDLENGTH in one bounds check.
    let [
        t_hi,
        t_lo,
        c_hi,
        c_lo,
        ttl_0,
        ttl_1,
        ttl_2,
        ttl_3,
        len_hi,
        len_lo,
    ] = read_fixed(dec)?;
    let rtype = u16::from_be_bytes([t_hi, t_lo]);
    let class = u16::from_be_bytes([c_hi, c_lo]);
    let ttl = u32::from_be_bytes([ttl_0, ttl_1, ttl_2, ttl_3]);
    let rdlength = u16::from_be_bytes([len_hi, len_lo]);
    let rdata_start = dec.index();
    let rdata_bytes = dec
        .read_slice(usize::from(rdlength))
        .map(Restrict::unverified)
        .map_err(|_| Malformed::DnsTruncated)?;

    let (data, defect) = match decode_rdata(msg, rdata_start, rtype, rdlength, rdata_bytes, names) {
        Ok(data) => (data, None),
        Err(defect) => (Rdata::Opaque(rdata_bytes.into()), Some(defect)),
    };
    Ok(Parsed {
        record: DnsRecord {
            name: owner,
            rtype,
            class,
            ttl,
            data,
        },
        defect,
    })
}

/// The next `N` bytes, as an array.
fn read_fixed<const N: usize>(dec: &mut BinDecoder<'_>) -> Result<[u8; N], Malformed> {
    dec.read_slice(N)
        .map(Restrict::unverified)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(Malformed::DnsTruncated)
}

/// Decodes RDATA. Names inside may point anywhere earlier in the message,
/// so the decoder spans the whole message, positioned at the RDATA.
fn decode_rdata(
    msg: &[u8],
    start: usize,
    rtype: u16,
    rdlength: u16,
    bytes: &[u8],
    names: &mut NameCache,
) -> Result<Rdata, Malformed> {
    // Types whose data is fixed or trivially framed are read here from the
    // exact RDATA bytes: cheaper than building hickory values, and exact.
    match rtype {
        1 => {
            let octets: [u8; 4] = bytes
                .try_into()
                .map_err(|_| Malformed::DnsRdataLengthMismatch)?;
            return Ok(Rdata::A(Ipv4Addr::from(octets)));
        }
        28 => {
            let octets: [u8; 16] = bytes
                .try_into()
                .map_err(|_| Malformed::DnsRdataLengthMismatch)?;
            return Ok(Rdata::Aaaa(Ipv6Addr::from(octets)));
        }
        TYPE_TXT | TYPE_SPF => return character_strings(bytes).map(Rdata::Text),
        TYPE_OPT => return Ok(Rdata::Opaque(bytes.into())),
        _ => {}
    }
    if bytes.is_empty() {
        return Ok(Rdata::Opaque(Box::default()));
    }

    let mut sub = BinDecoder::new(msg);
    sub.read_slice(start).map_err(|_| Malformed::DnsTruncated)?;

    // Names in RDATA are read directly rather than through `RData::read`:
    // its length check would mask the real defect (a bad pointer, a
    // reserved label type), hickory has no RData variant for DNAME, and
    // building hickory names to format them cost three times as much.
    // Field by field as hickory reads them: over the whole message, then
    // the length checked.
    let data = match rtype {
        TYPE_NS | TYPE_CNAME | TYPE_PTR | TYPE_DNAME => Rdata::Name(names.read(msg, &mut sub)?),
        TYPE_MX => {
            let [p_hi, p_lo] = read_fixed(&mut sub)?;
            Rdata::Mx {
                preference: u16::from_be_bytes([p_hi, p_lo]),
                exchange: names.read(msg, &mut sub)?,
            }
        }
        TYPE_SRV => {
            let [pr_hi, pr_lo, w_hi, w_lo, port_hi, port_lo] = read_fixed(&mut sub)?;
            Rdata::Srv {
                priority: u16::from_be_bytes([pr_hi, pr_lo]),
                weight: u16::from_be_bytes([w_hi, w_lo]),
                port: u16::from_be_bytes([port_hi, port_lo]),
                target: names.read(msg, &mut sub)?,
            }
        }
        TYPE_SOA => {
            let mname = names.read(msg, &mut sub)?;
            let rname = names.read(msg, &mut sub)?;
            let mut field = || read_fixed(&mut sub).map(u32::from_be_bytes);
            Rdata::Soa {
                mname,
                rname,
                serial: field()?,
                refresh: field()?,
                retry: field()?,
                expire: field()?,
                minimum: field()?,
            }
        }
        _ => return decode_other_rdata(&mut sub, rtype, rdlength, bytes),
    };
    if sub.index() != start + bytes.len() {
        return Err(Malformed::DnsRdataLengthMismatch);
    }
    Ok(data)
}

/// RDATA of the types read through hickory's `RData::read`, in
/// presentation format.
fn decode_other_rdata(
    sub: &mut BinDecoder<'_>,
    rtype: u16,
    rdlength: u16,
    bytes: &[u8],
) -> Result<Rdata, Malformed> {
    let rdata =
        RData::read(sub, RecordType::from(rtype), Restrict::new(rdlength)).map_err(defect_of)?;
    Ok(match rdata {
        RData::ANAME(n) => Rdata::Name(presentation(&n.0).into()),
        // MX, SRV and SOA are read by `decode_rdata` and never come here.
        RData::MX(_) | RData::SRV(_) | RData::SOA(_) => Rdata::Opaque(bytes.into()),
        RData::Unknown { .. } | RData::NULL(_) | RData::Update0(_) | RData::OPT(_) => {
            Rdata::Opaque(bytes.into())
        }
        RData::CAA(caa) => {
            // RFC 8659 §4.1.1: flags, tag, then the value as one quoted string.
            let mut text = format!("{} ", caa.flags());
            push_escaped(caa.tag.as_bytes(), &Escapes::TOKEN, &mut text);
            text.push(' ');
            push_quoted(&caa.value, &mut text);
            Rdata::Text(text)
        }
        RData::HINFO(hinfo) => {
            let mut text = String::new();
            push_quoted(&hinfo.cpu, &mut text);
            text.push(' ');
            push_quoted(&hinfo.os, &mut text);
            Rdata::Text(text)
        }
        RData::NAPTR(naptr) => {
            let mut text = format!("{} {} ", naptr.order, naptr.preference);
            for s in [&naptr.flags, &naptr.services, &naptr.regexp] {
                push_quoted(s, &mut text);
                text.push(' ');
            }
            write_presentation(&naptr.replacement, &mut text);
            Rdata::Text(text)
        }
        RData::DNSSEC(d) => {
            Rdata::Text(ascii_only(dnssec_text(&d).unwrap_or_else(|| d.to_string())))
        }
        other => Rdata::Text(ascii_only(other.to_string())),
    })
}

/// One character-string in presentation format: quoted, `"` and `\`
/// escaped, bytes outside printable ASCII as `\DDD`.
fn push_quoted(bytes: &[u8], out: &mut String) {
    out.push('"');
    push_escaped(bytes, &Escapes::QUOTED, out);
    out.push('"');
}

/// hickory's presentation of the other types, kept to printable ASCII:
/// what it decoded lossily from bytes (a U+FFFD, a control character, a
/// Unicode name) is written as the `\DDD` of its UTF-8 bytes, the
/// presentation-format escape, so no record data reaches a log raw.
fn ascii_only(text: String) -> String {
    if text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(text.as_bytes(), &Escapes::SPACED, &mut out);
    out
}

/// Presentation format (RFC 4034 §3.2, §4.2; RFC 5155 §3.3) for the DNSSEC
/// types that carry names or type lists, so that names follow the log's
/// convention (no trailing dot) and unknown types read `TYPEnnn`. Other
/// DNSSEC types use hickory's presentation.
fn dnssec_text(d: &DNSSECRData) -> Option<String> {
    use data_encoding::{BASE32HEX_NOPAD, BASE64, HEXUPPER};
    let types = |it: &mut dyn Iterator<Item = RecordType>| -> String {
        it.map(|t| type_name(u16::from(t)).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match d {
        DNSSECRData::RRSIG(sig) => {
            let i = sig.input();
            let time = |t: u32| {
                jiff::Timestamp::from_second(i64::from(t))
                    .map(|ts| ts.strftime("%Y%m%d%H%M%S").to_string())
                    .unwrap_or_else(|_| t.to_string())
            };
            Some(format!(
                "{} {} {} {} {} {} {} {} {}",
                type_name(u16::from(i.type_covered)),
                u8::from(i.algorithm),
                i.num_labels,
                i.original_ttl,
                time(i.sig_expiration.get()),
                time(i.sig_inception.get()),
                i.key_tag,
                presentation(&i.signer_name),
                BASE64.encode(sig.sig()),
            ))
        }
        DNSSECRData::NSEC(nsec) => Some(format!(
            "{} {}",
            presentation(nsec.next_domain_name()),
            types(&mut nsec.type_bit_maps())
        )),
        DNSSECRData::NSEC3(n) => {
            let salt = if n.salt().is_empty() {
                "-".to_string()
            } else {
                HEXUPPER.encode(n.salt())
            };
            Some(format!(
                "{} {} {} {} {} {}",
                u8::from(n.hash_algorithm()),
                n.flags(),
                n.iterations(),
                salt,
                BASE32HEX_NOPAD.encode(n.next_hashed_owner_name()),
                types(&mut n.type_bit_maps())
            ))
        }
        _ => None,
    }
}

/// TXT-style data: each character-string quoted, `"` and `\` escaped, and
/// bytes outside printable ASCII as `\DDD`, so attacker-chosen bytes cannot
/// break a log line.
fn character_strings(mut bytes: &[u8]) -> Result<String, Malformed> {
    let mut out = String::with_capacity(bytes.len() + 4);
    while let Some((&len, rest)) = bytes.split_first() {
        let s = rest
            .get(..usize::from(len))
            .ok_or(Malformed::DnsRdataLengthMismatch)?;
        if !out.is_empty() {
            out.push(' ');
        }
        push_quoted(s, &mut out);
        bytes = rest.get(usize::from(len)..).unwrap_or_default();
    }
    Ok(out)
}

/// Maps hickory's decode errors to the reasons counted in the summary.
fn name_defect(e: NameError) -> Malformed {
    match e {
        NameError::Truncated => Malformed::DnsTruncated,
        NameError::BadPointer => Malformed::DnsNameBadPointer,
        NameError::BadLabel => Malformed::DnsLabelInvalid,
        NameError::TooLong => Malformed::DnsNameTooLong,
    }
}

fn defect_of(e: DecodeError) -> Malformed {
    match e {
        DecodeError::InsufficientBytes => Malformed::DnsTruncated,
        DecodeError::PointerNotPriorToLabel { .. }
        | DecodeError::LabelOverlapsWithOther { .. }
        | DecodeError::InvalidPreviousIndex => Malformed::DnsNameBadPointer,
        DecodeError::LabelBytesTooLong(_) | DecodeError::UnrecognizedLabelCode(_) => {
            Malformed::DnsLabelInvalid
        }
        DecodeError::DomainNameTooLong(_) => Malformed::DnsNameTooLong,
        DecodeError::IncorrectRDataLengthRead { .. } => Malformed::DnsRdataLengthMismatch,
        _ => Malformed::DnsRdataInvalid,
    }
}

/// The OPT pseudo-record (RFC 6891 §6.1.2): the class is the UDP payload
/// size, the TTL holds the extended RCODE, version and DO bit. `None` when
/// the owner is not the root or the options do not frame.
fn edns_from(record: &DnsRecord) -> Option<Edns> {
    if &*record.name != "." {
        return None;
    }
    let Rdata::Opaque(bytes) = &record.data else {
        return None;
    };
    let mut options = Vec::new();
    let mut rest: &[u8] = bytes;
    while !rest.is_empty() {
        let code = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        let len = usize::from(u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]));
        let data = rest.get(4..4 + len)?;
        options.push(EdnsOption {
            code,
            data: edns_option_text(code, data),
        });
        rest = rest.get(4 + len..)?;
    }
    Some(Edns {
        udp_payload_size: record.class,
        extended_rcode: (record.ttl >> 24) as u8,
        version: (record.ttl >> 16) as u8,
        dnssec_ok: record.ttl & 0x8000 != 0,
        options,
    })
}

fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn edns_option_text(code: u16, data: &[u8]) -> String {
    match code {
        // Client subnet (RFC 7871): family, source and scope prefix, address.
        8 => {
            let (Some(&f0), Some(&f1), Some(&source), Some(&scope)) =
                (data.first(), data.get(1), data.get(2), data.get(3))
            else {
                return format!("malformed {}", hex(data));
            };
            let addr = data.get(4..).unwrap_or_default();
            let family = u16::from_be_bytes([f0, f1]);
            let text = match family {
                1 if addr.len() <= 4 => {
                    let mut o = [0u8; 4];
                    if let Some(d) = o.get_mut(..addr.len()) {
                        d.copy_from_slice(addr);
                    }
                    Ipv4Addr::from(o).to_string()
                }
                2 if addr.len() <= 16 => {
                    let mut o = [0u8; 16];
                    if let Some(d) = o.get_mut(..addr.len()) {
                        d.copy_from_slice(addr);
                    }
                    Ipv6Addr::from(o).to_string()
                }
                _ => return format!("family {family} {}", hex(data)),
            };
            format!("{text}/{source}/{scope}")
        }
        // Extended DNS error (RFC 8914): info code, then UTF-8 text, which
        // the server chose: escaped as record data is.
        15 => match data {
            [a, b, text @ ..] => {
                let mut out = u16::from_be_bytes([*a, *b]).to_string();
                if !text.is_empty() {
                    out.push(' ');
                    push_escaped(text, &Escapes::TEXT, &mut out);
                }
                out
            }
            _ => format!("malformed {}", hex(data)),
        },
        _ => hex(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceRef, Timestamp, Transport};
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::Name;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, CNAME, MX, NS, SOA, SRV, TXT};

    fn meta() -> PacketMeta {
        PacketMeta {
            ts: Timestamp(0),
            src_ip: "192.0.2.53".parse().unwrap(),
            src_port: 53,
            dst_ip: "198.51.100.7".parse().unwrap(),
            dst_port: 40000,
            transport: Transport::Udp,
            source: SourceRef { file: 0, packet: 1 },
            vlan: Default::default(),
            tunnel: None,
            ip_ttl: 64,
        }
    }

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn response(answers: Vec<Record>, additionals: Vec<Record>) -> Vec<u8> {
        let mut m = Message::new(0xbeef, MessageType::Response, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(n("WwW.Example.ORG."), RecordType::A));
        m.add_answers(answers);
        m.add_additionals(additionals);
        m.to_vec().unwrap()
    }

    #[test]
    fn answers_decode_to_presentation_format() {
        let bytes = response(
            vec![
                Record::from_rdata(
                    n("www.example.org."),
                    300,
                    RData::CNAME(CNAME(n("edge.cdn.example.net."))),
                ),
                Record::from_rdata(
                    n("edge.cdn.example.net."),
                    60,
                    RData::A(A::new(192, 0, 2, 10)),
                ),
                Record::from_rdata(
                    n("example.org."),
                    60,
                    RData::MX(MX::new(10, n("mail.example.org."))),
                ),
                Record::from_rdata(n("example.org."), 60, RData::NS(NS(n("ns1.example.org.")))),
                Record::from_rdata(
                    n("example.org."),
                    60,
                    RData::TXT(TXT::new(vec!["v=spf1 \"x\"".into()])),
                ),
            ],
            vec![],
        );
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.defect, None);
        assert_eq!(r.txid, 0xbeef);
        assert_eq!(r.qname(), "WwW.Example.ORG");
        assert_eq!(r.qtype(), Some(1));
        let data: Vec<String> = r.answers.iter().map(|a| a.data.to_string()).collect();
        assert_eq!(
            data,
            vec![
                "edge.cdn.example.net",
                "192.0.2.10",
                "10 mail.example.org",
                "ns1.example.org",
                "\"v=spf1 \\\"x\\\"\""
            ]
        );
    }

    #[test]
    fn answers_survive_a_broken_additional_section() {
        let mut bytes = response(
            vec![Record::from_rdata(
                n("www.example.org."),
                300,
                RData::A(A::new(203, 0, 113, 66)),
            )],
            vec![Record::from_rdata(
                n("x.example.org."),
                300,
                RData::A(A::new(1, 2, 3, 4)),
            )],
        );
        // Corrupt the additional record: cut it in the middle of its RDATA.
        bytes.truncate(bytes.len() - 2);
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].data, Rdata::A(Ipv4Addr::new(203, 0, 113, 66)));
        assert_eq!(r.defect, Some(Malformed::DnsTruncated));
        // hickory alone would have lost the answer.
        assert!(Message::from_vec(&bytes).is_err());
    }

    #[test]
    fn bad_rdata_is_kept_opaque_and_later_records_still_decode() {
        let mut bytes = response(
            vec![
                Record::from_rdata(
                    n("a.example.org."),
                    300,
                    RData::CNAME(CNAME(n("zzz.example.net."))),
                ),
                Record::from_rdata(n("c.example.org."), 300, RData::A(A::new(192, 0, 2, 1))),
            ],
            vec![],
        );
        // Turn the first label of the CNAME target into a reserved label
        // type (0b10), keeping the RDLENGTH intact.
        let at = bytes.windows(4).position(|w| w == b"\x03zzz").unwrap();
        bytes[at] = 0x80;
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.answers.len(), 2);
        assert!(matches!(r.answers[0].data, Rdata::Opaque(_)));
        assert_eq!(r.answers[1].data, Rdata::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(r.defect, Some(Malformed::DnsLabelInvalid));
    }

    #[test]
    fn edns_is_taken_out_of_additional() {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(n("example.org."), RecordType::A));
        let mut edns = hickory_proto::op::Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(true);
        m.set_edns(edns);
        let bytes = m.to_vec().unwrap();
        let r = decode_response(meta(), &bytes).unwrap();
        assert!(r.additional.is_empty());
        let e = r.edns.unwrap();
        assert_eq!(e.udp_payload_size, 1232);
        assert!(e.dnssec_ok);
    }

    #[test]
    fn short_messages() {
        assert_eq!(
            decode_response(meta(), &[0; 11]),
            Err(Malformed::DnsHeaderTruncated)
        );
        let mut hdr = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        let r = decode_response(meta(), &hdr).unwrap();
        assert_eq!(r.defect, Some(Malformed::DnsTruncated));
        hdr.extend_from_slice(&[3, b'c', b'o', b'm', 0, 0, 1, 0, 1]);
        assert_eq!(decode_response(meta(), &hdr).unwrap().defect, None);
    }

    #[test]
    fn compression_loop_is_a_counted_defect() {
        // Question name is a pointer to itself.
        let msg = [
            0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1,
        ];
        let r = decode_response(meta(), &msg).unwrap();
        assert_eq!(r.defect, Some(Malformed::DnsNameBadPointer));
    }

    /// Character-strings inside CAA, HINFO and NAPTR are attacker-chosen
    /// bytes: in presentation format, quoted, with every byte outside
    /// printable ASCII as `\DDD` (invalid UTF-8 included), like TXT.
    #[test]
    fn caa_hinfo_and_naptr_strings_are_escaped_like_txt() {
        use hickory_proto::rr::rdata::{CAA, HINFO, NAPTR};
        let hostile: Vec<u8> = [&b"a\"\\\x7f"[..], "\u{9b}\u{2028}".as_bytes(), b"\xff z"].concat();
        let mut caa = CAA::new_issue(false, None, vec![]);
        caa.value = hostile.clone();
        let hinfo = HINFO::from_bytes(hostile.clone().into(), b"Linux".to_vec().into());
        let naptr = NAPTR::new(
            10,
            20,
            b"u".to_vec().into(),
            hostile.clone().into(),
            b"!^.*$!sip:x@example.org!".to_vec().into(),
            n("."),
        );
        let bytes = response(
            vec![
                Record::from_rdata(n("example.org."), 60, RData::CAA(caa)),
                Record::from_rdata(n("example.org."), 60, RData::HINFO(hinfo)),
                Record::from_rdata(n("example.org."), 60, RData::NAPTR(naptr)),
            ],
            vec![],
        );
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.defect, None);
        let data: Vec<String> = r.answers.iter().map(|a| a.data.to_string()).collect();
        let esc = "a\\\"\\\\\\127\\194\\155\\226\\128\\168\\255 z";
        assert_eq!(
            data,
            vec![
                format!("0 issue \"{esc}\""),
                format!("\"{esc}\" \"Linux\""),
                format!("10 20 \"u\" \"{esc}\" \"!^.*$!sip:x@example.org!\" ."),
            ]
        );
    }

    #[test]
    fn every_truncation_of_a_real_response_is_safe() {
        let bytes = response(
            vec![
                Record::from_rdata(
                    n("www.example.org."),
                    300,
                    RData::CNAME(CNAME(n("edge.cdn.example.net."))),
                ),
                Record::from_rdata(
                    n("example.org."),
                    60,
                    RData::MX(MX::new(10, n("mail.example.org."))),
                ),
            ],
            vec![Record::from_rdata(
                n("mail.example.org."),
                60,
                RData::A(A::new(192, 0, 2, 25)),
            )],
        );
        for cut in 0..bytes.len() {
            let _ = decode_response(meta(), &bytes[..cut]);
        }
    }

    /// MX, SRV and SOA data as the decoder read it through hickory's
    /// `RData::read` before reading it directly: same text, same defect.
    fn through_hickory(
        msg: &[u8],
        start: usize,
        rtype: u16,
        len: u16,
    ) -> Result<String, Malformed> {
        let mut sub = BinDecoder::new(msg);
        sub.read_slice(start).unwrap();
        let rdata = RData::read(&mut sub, RecordType::from(rtype), Restrict::new(len))
            .map_err(defect_of)?;
        Ok(match rdata {
            RData::MX(mx) => format!("{} {}", mx.preference, presentation(&mx.exchange)),
            RData::SRV(srv) => format!(
                "{} {} {} {}",
                srv.priority,
                srv.weight,
                srv.port,
                presentation(&srv.target)
            ),
            RData::SOA(soa) => format!(
                "{} {} {} {} {} {} {}",
                presentation(&soa.mname),
                presentation(&soa.rname),
                soa.serial,
                soa.refresh as u32,
                soa.retry as u32,
                soa.expire as u32,
                soa.minimum
            ),
            other => panic!("unexpected {other:?}"),
        })
    }

    #[test]
    fn mx_srv_and_soa_read_as_hickory_reads_them_at_every_length() {
        let soa = SOA::new(
            n("ns1.Example.ORG."),
            Name::from_labels([&b"host.master"[..], b"example", b"org"]).unwrap(),
            2024010101,
            7200,
            -1,
            1209600,
            300,
        );
        let bytes = response(
            vec![
                Record::from_rdata(
                    n("Example.ORG."),
                    60,
                    RData::MX(MX::new(10, n("mx1.Example.ORG."))),
                ),
                Record::from_rdata(
                    n("_sip._tcp.Example.ORG."),
                    60,
                    RData::SRV(SRV::new(1, 2, 5060, n("sip.example.org."))),
                ),
                Record::from_rdata(n("Example.ORG."), 60, RData::SOA(soa)),
            ],
            vec![],
        );
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.defect, None);
        let texts: Vec<String> = r.answers.iter().map(|a| a.data.to_string()).collect();
        assert_eq!(
            texts,
            [
                "10 mx1.Example.ORG",
                "1 2 5060 sip.example.org",
                "ns1.Example.ORG host\\.master.example.org 2024010101 7200 4294967295 1209600 300",
            ]
        );

        // Each record's RDATA re-read with every length from one byte to
        // past its end (and past the message's end), as hickory reads it: a name
        // cut short, fixed fields running out, a length that leaves bytes.
        let mut msg = bytes.clone();
        msg.extend_from_slice(&[0xc0, 0x0c, 0, 1, 2, 3]);
        let mut dec = BinDecoder::new(&msg);
        dec.read_slice(12).unwrap();
        let mut names = NameCache::default();
        read_question(&msg, &mut dec, &mut names).unwrap();
        let mut checked = 0;
        for _ in 0..3 {
            let record_start = dec.index();
            names.read(&msg, &mut dec).unwrap();
            let [t_hi, t_lo, _, _, _, _, _, _, l_hi, l_lo] = read_fixed(&mut dec).unwrap();
            let rtype = u16::from_be_bytes([t_hi, t_lo]);
            let real = u16::from_be_bytes([l_hi, l_lo]);
            let start = dec.index();
            for len in 1..=real + 8 {
                let Some(rdata) = msg.get(start..start + usize::from(len)) else {
                    continue;
                };
                let ours = decode_rdata(&msg, start, rtype, len, rdata, &mut NameCache::default())
                    .map(|d| d.to_string());
                let theirs = through_hickory(&msg, start, rtype, len);
                assert_eq!(ours, theirs, "type {rtype} length {len} (real {real})");
                checked += 1;
            }
            dec.read_slice(usize::from(real)).unwrap();
            assert!(dec.index() > record_start);
        }
        assert!(checked > 90, "{checked}");
    }

    /// Owners and targets copied from the name cache read exactly as a full
    /// decode does: pointers to the question, to a CNAME target, into the
    /// middle of a name, to a name with an escaped dot, in mixed case.
    #[test]
    fn names_behind_pointers_read_as_hickory_reads_them() {
        let dotted = Name::from_labels([&b"a.b"[..], b"Example", b"org"]).unwrap();
        let bytes = response(
            vec![
                Record::from_rdata(
                    n("WwW.Example.ORG."),
                    300,
                    RData::CNAME(CNAME(dotted.clone())),
                ),
                Record::from_rdata(
                    dotted.clone(),
                    60,
                    RData::CNAME(CNAME(n("edge.cdn.example.net."))),
                ),
                Record::from_rdata(
                    n("edge.cdn.example.net."),
                    60,
                    RData::A(A::new(192, 0, 2, 10)),
                ),
                Record::from_rdata(
                    n("edge.cdn.example.net."),
                    60,
                    RData::A(A::new(192, 0, 2, 11)),
                ),
                Record::from_rdata(n("Example.ORG."), 60, RData::NS(NS(n("ns1.Example.ORG.")))),
                Record::from_rdata(dotted.clone(), 60, RData::A(A::new(192, 0, 2, 12))),
            ],
            vec![Record::from_rdata(
                n("ns1.Example.ORG."),
                60,
                RData::A(A::new(192, 0, 2, 53)),
            )],
        );
        let full = Message::from_vec(&bytes).unwrap();
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.defect, None);
        let ours: Vec<(String, String)> = r
            .answers
            .iter()
            .chain(&r.additional)
            .map(|rec| (rec.name.to_string(), rec.data.to_string()))
            .collect();
        let theirs: Vec<(String, String)> = full
            .answers
            .iter()
            .chain(&full.additionals)
            .map(|rec| {
                let data = match &rec.data {
                    RData::CNAME(c) => presentation(&c.0),
                    RData::NS(ns) => presentation(&ns.0),
                    other => other.to_string(),
                };
                (presentation(&rec.name), data)
            })
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours[1].0, "a\\.b.Example.org");
    }

    /// A compression bomb: thousands of records whose owner is a 2-byte
    /// pointer to a 250-byte name. Decoded whole it was over a hundred
    /// times its size in text; now decoding stops at the budget, keeps what
    /// came before it, and says why.
    #[test]
    fn a_compression_bomb_stops_at_the_decode_budget() {
        let label = "x".repeat(62);
        let bytes =
            crate::synth::flood::pointer_bomb(&format!("{label}.{label}.{label}.{label}."), 4000);
        assert!(bytes.len() < 65_536, "{}", bytes.len());
        let r = decode_response(meta(), &bytes).unwrap();
        assert_eq!(r.defect, Some(Malformed::DnsDecodeBudget));
        assert!(!r.answers.is_empty(), "what came before the budget is kept");
        let text: usize = r.answers.iter().map(text_len).sum();
        assert!(
            text <= bytes.len() * DECODED_PER_WIRE_BYTE,
            "{text} bytes of text from a {}-byte message",
            bytes.len()
        );

        // Many small records under the text budget stop at the record cap.
        let r = decode_response(meta(), &crate::synth::flood::pointer_bomb("a.", 3000)).unwrap();
        assert_eq!(r.defect, Some(Malformed::DnsDecodeBudget));
        assert_eq!(r.answers.len(), MAX_RECORDS_PER_MESSAGE);
    }
}
