//! `--plot`: PNG and SVG files are produced, are valid, and show what they claim (−∞ regions in
//! the neutral colour, likelihood-ratio contours), checked by sampling pixel colours.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("klgrid-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn sweep(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_klgrid"))
        .arg("sweep")
        .args(args)
        .args(["--backend", "cpu", "--format", "csv", "--out", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (width, height, RGB pixels) of a PNG.
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(ch)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn count(px: &[[u8; 3]], rgb: [u8; 3]) -> usize {
    px.iter().filter(|p| **p == rgb).count()
}

#[test]
fn normal_surface_is_written_as_png_and_valid_svg() {
    let png = tmp("normal.png");
    let svg = tmp("normal.svg");
    for out in [&png, &svg] {
        sweep(&[
            "--family",
            "normal",
            "--sample",
            "normal(mu=1.5,sigma=2)",
            "-n",
            "200000",
            "--grid",
            "mu=0:3:121",
            "--grid",
            "sigma=1:3:81",
            "--plot",
            out.to_str().unwrap(),
        ]);
    }
    let (w, h, px) = decode(&png);
    assert!(w >= 800 && h >= 500, "{w}x{h}");
    // Viridis yellow near the maximum is present; the picture is not blank.
    assert!(
        px.iter()
            .filter(|p| p[0] > 200 && p[1] > 200 && p[2] < 80)
            .count()
            > 1000
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    // The heatmap is one embedded raster image (issue 16: not one <rect> per cell, which made a
    // 1000×1000 grid a 90 MB SVG), and the text stays text.
    let images: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("image"))
        .collect();
    assert_eq!(images.len(), 1);
    let href = images[0]
        .attributes()
        .find(|a| a.name() == "href")
        .map(|a| a.value().to_string())
        .unwrap();
    assert!(
        href.starts_with("data:image/png;base64,"),
        "{}",
        &href[..40]
    );
    assert!(doc.descendants().filter(|n| n.has_tag_name("rect")).count() < 121 * 81 / 10);
    assert!(doc
        .descendants()
        .any(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.contains("sigma"))));
}

#[test]
fn poisson_curve_is_written() {
    let png = tmp("poisson.png");
    sweep(&[
        "--family",
        "poisson",
        "--sample",
        "poisson(rate=3.5)",
        "-n",
        "20000",
        "--grid",
        "rate=2:5:61",
        "--plot",
        png.to_str().unwrap(),
        "--plot-size",
        "900x600",
    ]);
    let (w, h, px) = decode(&png);
    assert_eq!((w, h), (900, 600));
    // The curve (blue) and the 95% interval band (light red) are drawn.
    assert!(count(&px, [0, 0, 255]) > 500);
    assert!(px
        .iter()
        .any(|p| p[0] > 240 && p[1] > 200 && p[1] < 235 && p[2] > 200 && p[2] < 235));
}

/// Uniform data on [0, 2]: grid points with low > 0 or high < 2 miss a sample and are −∞, drawn
/// in the neutral grey, which fills the lower-right of the picture; the finite region (upper
/// left) is coloured.
#[test]
fn minus_infinity_regions_are_neutral_grey() {
    let png = tmp("uniform.png");
    sweep(&[
        "--family",
        "uniform",
        "--sample",
        "uniform(low=0,high=2)",
        "-n",
        "500",
        "--grid",
        "low=-0.5:0.5:60",
        "--grid",
        "high=1.5:2.5:60",
        "--plot",
        png.to_str().unwrap(),
        "--plot-size",
        "800x600",
    ]);
    let (w, h, px) = decode(&png);
    let at = |x: u32, y: u32| px[(y * w + x) as usize];
    // Plot area roughly spans x 80..680, y 40..540 (title above, colour bar right).
    assert_eq!(at(w * 6 / 10, h * 8 / 10), [170, 170, 170]); // low > 0, high < 2
    assert_eq!(at(w * 6 / 10, h * 2 / 10), [170, 170, 170]); // low > 0
    let finite = at(w * 2 / 10, h * 2 / 10);
    assert_ne!(finite, [170, 170, 170]);
    assert_ne!(finite, [255, 255, 255]);
}

/// With 2,000 samples the 68% and 95% joint regions span several grid cells: their contours (white
/// and red) are drawn around the best point, near the centre of the picture.
#[test]
fn likelihood_ratio_contours_are_drawn_around_the_maximum() {
    let png = tmp("contours.png");
    sweep(&[
        "--family",
        "normal",
        "--sample",
        "normal(mu=1.5,sigma=2)",
        "-n",
        "2000",
        "--seed",
        "1",
        "--grid",
        "mu=0:3:121",
        "--grid",
        "sigma=1:3:81",
        "--plot",
        png.to_str().unwrap(),
    ]);
    let (w, h, px) = decode(&png);
    let red: Vec<(u32, u32)> = (0..w * h)
        .filter(|&i| px[i as usize] == [230, 30, 30])
        .map(|i| (i % w, i / w))
        .collect();
    // Legend swatch aside, the contour's red pixels sit in the middle of the plot.
    let central = red
        .iter()
        .filter(|(x, y)| (*x > w / 4 && *x < w * 3 / 4) && (*y > h / 4 && *y < h * 3 / 4))
        .count();
    assert!(central > 100, "red contour pixels in the centre: {central}");
    let white_central = (0..w * h)
        .filter(|&i| px[i as usize] == [255, 255, 255])
        .filter(|&i| (i % w > w / 3 && i % w < w * 2 / 3) && (i / w > h / 3 && i / w < h * 2 / 3))
        .count();
    assert!(
        white_central > 50,
        "white contour pixels in the centre: {white_central}"
    );
}
