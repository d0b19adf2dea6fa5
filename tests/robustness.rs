//! Property tests: the command-line parsers (grid axes, sample specs, kernel shapes, backends,
//! input formats and columns) never panic on arbitrary text; the readers are fuzzed in
//! `src/input` (unit tests, in memory).

use klgrid::engine::gpu::KernelShape;
use klgrid::engine::{parse_compare, Backend};
use klgrid::input::{Column, Format};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::REGISTRY;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in "\\PC{0,40}") {
        let _ = AxisSpec::parse(&s);
        let _ = SampleSpec::parse(&s);
        let _ = KernelShape::parse(&s);
        let _ = parse_compare(&s);
        let _ = s.parse::<Backend>();
        let _ = s.parse::<Format>();
        let _ = Column::parse(&s);
    }

    /// Strings built from the grammar's own pieces reach deeper into the parsers.
    #[test]
    fn grid_and_sample_specs_from_their_alphabet_never_panic(
        axes in proptest::collection::vec("[a-z]{1,6}=(log:)?[-0-9.e,:]{0,16}", 1..4),
        spec in "[a-z_]{1,12}\\(([a-z]{1,6}=)?[-0-9.e]{0,8}(, ?([a-z]{1,6}=)?[-0-9.einf]{0,8}){0,3}\\)?",
        n in 1usize..50,
    ) {
        for fam in REGISTRY {
            let parsed: Result<Vec<AxisSpec>, _> = axes.iter().map(|a| AxisSpec::parse(a)).collect();
            if let Ok(specs) = parsed {
                if let Ok(g) = Grid::new(*fam, specs) {
                    if !g.is_empty() {
                        let _ = g.theta(g.len() - 1);
                    }
                }
            }
        }
        if let Ok(s) = SampleSpec::parse(&spec) {
            let _ = s.draw(n, 1);
        }
    }
}
