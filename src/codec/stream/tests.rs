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
