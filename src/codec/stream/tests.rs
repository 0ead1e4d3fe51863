use super::*;
use crate::codec::Compression;

fn batches() -> Vec<Vec<u8>> {
    (0..20)
        .map(|i| {
            (0..50)
                .map(|j| {
                    format!(
                        "081109 2035{i:02} {j} INFO dfs.DataNode$PacketResponder: block blk_{}\n",
                        i * 7 + j
                    )
                })
                .collect::<String>()
                .into_bytes()
        })
        .collect()
}

fn compress_all(level: i32, window_log: u8, batches: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut c = StreamCompressor::new(level, window_log).unwrap();
    batches.iter().map(|b| c.compress_batch(b).unwrap()).collect()
}

#[test]
fn batches_decode_in_order_with_the_stream_history() {
    let batches = batches();
    let wire = compress_all(1, 20, &batches);
    let mut d = StreamDecompressor::new(23).unwrap();
    for (plain, packed) in batches.iter().zip(&wire) {
        assert_eq!(&d.decompress_batch(packed, 1 << 20).unwrap(), plain);
    }
    assert_eq!(d.window_bytes(), 1 << 20);
}

#[test]
fn the_same_batches_give_the_same_bytes() {
    let batches = batches();
    assert_eq!(compress_all(1, 20, &batches), compress_all(1, 20, &batches));
}

#[test]
fn history_makes_later_batches_smaller_than_per_batch_frames() {
    let batches = batches();
    let stream: usize = compress_all(1, 20, &batches).iter().map(Vec::len).sum();
    let per_batch: usize = batches.iter().map(|b| Compression::zstd(1).compress(b).unwrap().len()).sum();
    assert!(stream < per_batch, "stream {stream} vs per batch {per_batch}");
}

#[test]
fn empty_batches_and_an_empty_first_batch_round_trip() {
    let batches = vec![Vec::new(), b"abc abc abc".to_vec(), Vec::new(), b"abc".to_vec()];
    let wire = compress_all(3, 20, &batches);
    let mut d = StreamDecompressor::new(23).unwrap();
    for (plain, packed) in batches.iter().zip(&wire) {
        assert_eq!(&d.decompress_batch(packed, 100).unwrap(), plain);
    }
}

#[test]
fn a_batch_cut_short_is_refused_not_delivered_in_part() {
    let batches = batches();
    let wire = compress_all(1, 20, &batches);
    for cut in [1, 2, 10, wire[1].len() / 2] {
        let mut d = StreamDecompressor::new(23).unwrap();
        d.decompress_batch(&wire[0], 1 << 20).unwrap();
        let truncated = &wire[1][..wire[1].len() - cut];
        let err = d.decompress_batch(truncated, 1 << 20).unwrap_err();
        assert!(
            matches!(err, DecompressError::Corrupt { encoding: ContentEncoding::ZstdStream, .. }),
            "{err:?}"
        );
    }
}

#[test]
fn a_batch_out_of_order_fails() {
    let batches = batches();
    let wire = compress_all(1, 20, &batches);
    let mut d = StreamDecompressor::new(23).unwrap();
    // Batch 1 without batch 0: no frame header.
    assert!(d.decompress_batch(&wire[1], 1 << 20).is_err());
}

#[test]
fn a_window_above_the_receivers_limit_is_refused_with_the_setting_named() {
    let wire = compress_all(1, 24, &batches());
    let mut d = StreamDecompressor::new(23).unwrap();
    match d.decompress_batch(&wire[0], 1 << 20) {
        Err(DecompressError::Corrupt { detail, .. }) => {
            assert!(detail.contains("max_stream_window_log 23"), "{detail}");
            assert!(detail.contains("16777216 bytes"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // At the limit it decodes.
    let wire = compress_all(1, 23, &batches());
    assert!(StreamDecompressor::new(23).unwrap().decompress_batch(&wire[0], 1 << 20).is_ok());
}

#[test]
fn a_frame_end_followed_by_a_new_frame_is_accepted() {
    // A receiver also accepts ended frames: one as a batch, then two in the next batch.
    let zstd = Compression::zstd(1);
    let mut d = StreamDecompressor::new(23).unwrap();
    assert_eq!(d.decompress_batch(&zstd.compress(b"first").unwrap(), 100).unwrap(), b"first");
    let mut next = zstd.compress(b"second").unwrap();
    next.extend(zstd.compress(b" third").unwrap());
    assert_eq!(d.decompress_batch(&next, 100).unwrap(), b"second third");
}

#[test]
fn output_above_the_limit_is_refused() {
    let big = vec![b'x'; 100_000];
    let wire = compress_all(1, 20, &[big]);
    let mut d = StreamDecompressor::new(23).unwrap();
    assert_eq!(d.decompress_batch(&wire[0], 99_999), Err(DecompressError::TooLarge { limit: 99_999 }));
    let mut d = StreamDecompressor::new(23).unwrap();
    assert_eq!(d.decompress_batch(&wire[0], 100_000).unwrap().len(), 100_000);
}

#[test]
fn frame_window_bytes_reads_both_header_forms() {
    let streamed = compress_all(1, 21, &[b"abc".to_vec()]);
    assert_eq!(frame_window_bytes(&streamed[0]), Some(1 << 21));
    // A one-shot frame of known size is single-segment: its window is its content size.
    let one_shot = Compression::zstd(1).compress(&[7u8; 1000]).unwrap();
    assert_eq!(frame_window_bytes(&one_shot), Some(1000));
    assert_eq!(frame_window_bytes(b"nope"), None);
    assert_eq!(frame_window_bytes(&streamed[0][..5]), None);
}

#[test]
fn a_rung_change_starts_a_new_frame_that_every_decoder_reads_on() {
    use crate::codec::ladder::LADDER;
    let batches = batches();
    let mut c = StreamCompressor::at_rung(LADDER[0], 20).unwrap();
    // Up, up, down, the same again, down: every change after the first batch ends a frame.
    let rungs = [0, 0, 3, 3, 1, 1, 1, 0, 4, 4, 2, 0, 0, 0, 3, 3, 3, 1, 0, 0];
    let wire: Vec<Vec<u8>> =
        batches.iter().zip(rungs).map(|(b, r)| c.compress_batch_at(b, LADDER[r]).unwrap()).collect();
    assert_eq!(c.frames_restarted(), 9);
    // Our receiver, batch by batch.
    let mut d = StreamDecompressor::new(23).unwrap();
    for (plain, packed) in batches.iter().zip(&wire) {
        assert_eq!(&d.decompress_batch(packed, 1 << 20).unwrap(), plain);
    }
    // zstd's own streaming decoder, the whole stream at once (concatenated frames).
    let all: Vec<u8> = wire.concat();
    let mut out = Vec::new();
    // The last frame never ends, so the reader reports an incomplete frame after the output.
    let end = std::io::Read::read_to_end(&mut zstd::stream::read::Decoder::new(&all[..]).unwrap(), &mut out);
    assert_eq!(end.map_err(|e| e.kind()), Err(std::io::ErrorKind::UnexpectedEof));
    assert_eq!(out, batches.concat());
}

#[test]
fn each_rung_compresses_real_logs_smaller_than_the_one_below() {
    use crate::codec::ladder::LADDER;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");
    let mut logs: Vec<(f64, String)> = vec![(0.0, String::new()); LADDER.len()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        for (i, &rung) in LADDER.iter().enumerate() {
            let mut c = StreamCompressor::at_rung(rung, 20).unwrap();
            let size: usize = text.chunks(16_000).map(|b| c.compress_batch(b).unwrap().len()).sum();
            logs[i].0 += (size as f64).ln();
            logs[i].1 += &format!(" {size}");
        }
    }
    // The geometric mean over the Loghub samples falls rung by rung.
    assert!(logs.windows(2).all(|w| w[1].0 < w[0].0), "{logs:?}");
}

#[test]
fn a_context_is_measured_and_grows_with_the_window_and_the_level() {
    use crate::codec::ladder::{LADDER, Rung};
    let small = context_bytes(LADDER[0], 20).unwrap();
    assert!(small > 1 << 20, "the window alone is 1 MiB: {small}");
    assert!(context_bytes(LADDER[0], 23).unwrap() > small + (6 << 20));
    assert!(context_bytes(Rung::fixed(19), 20).unwrap() > context_bytes(LADDER[4], 20).unwrap());
    // The whole ladder stays small: every rung fits in 16 MiB with the default window.
    assert!(LADDER.iter().all(|&r| context_bytes(r, 20).unwrap() < 16 << 20));
}
