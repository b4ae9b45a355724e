//! Routing: which locations ship an order. Deterministic:
//! 1. only active locations that ship to the destination country and hold stock;
//! 2. one location that can ship everything, nearest to the destination (great-circle
//!    distance when both have coordinates, else same region, then priority);
//! 3. otherwise the fewest locations that together can, nearest first.
//!
//! The plan never allocates more than a location has and always covers the order exactly.

use std::collections::BTreeMap;

use super::ids::{LocationId, SkuId};
use super::status::RoutingStrategy;

/// Where an order goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub country: String,
    pub region: Option<String>,
    pub coordinates: Option<(f64, f64)>,
}

/// A location that might ship, with what it has available per SKU.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: LocationId,
    pub name: String,
    pub active: bool,
    pub ships_to: Vec<String>,
    pub region: Option<String>,
    pub coordinates: Option<(f64, f64)>,
    pub priority: i32,
    pub available: BTreeMap<SkuId, i32>,
}

/// Units of each SKU one location ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub location: LocationId,
    pub lines: BTreeMap<SkuId, i32>,
}

/// The routing decision and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub strategy: RoutingStrategy,
    pub reason: String,
    pub allocations: Vec<Allocation>,
}

/// Why an order cannot be routed: the SKUs no combination of locations can supply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unroutable {
    /// SKUs short, with how many units could be found in all.
    pub short: Vec<(SkuId, i32)>,
}

/// Most candidates searched exhaustively for the fewest-location split; beyond this a
/// greedy cover is used (still correct, possibly one location more).
const EXHAUSTIVE_LIMIT: usize = 12;

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// A sortable closeness key: distance (if known), then same region, then priority, then id.
fn closeness(c: &Candidate, to: &Destination) -> (u64, u8, i64, i64) {
    let distance = match (c.coordinates, to.coordinates) {
        (Some(a), Some(b)) => distance_km(a, b).round() as u64,
        _ => u64::MAX,
    };
    let same_region = match (&c.region, &to.region) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => 0,
        _ => 1,
    };
    (distance, same_region, -i64::from(c.priority), c.id.0)
}

fn describe(c: &Candidate, to: &Destination) -> String {
    match (c.coordinates, to.coordinates) {
        (Some(a), Some(b)) => format!("{}, {} km", c.name, distance_km(a, b).round()),
        _ => c.name.clone(),
    }
}

/// Routes `lines` (SKU → units, all positive) to `candidates` for `to`.
pub fn route(
    lines: &BTreeMap<SkuId, i32>,
    candidates: &[Candidate],
    to: &Destination,
) -> Result<Plan, Unroutable> {
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            c.active
                && c.ships_to
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&to.country))
        })
        .filter(|c| {
            lines
                .keys()
                .any(|sku| c.available.get(sku).copied().unwrap_or(0) > 0)
        })
        .collect();
    eligible.sort_by_key(|c| closeness(c, to));

    let has = |c: &Candidate, sku: &SkuId| c.available.get(sku).copied().unwrap_or(0).max(0);
    if let Some(single) = eligible
        .iter()
        .find(|c| lines.iter().all(|(sku, qty)| has(c, sku) >= *qty))
    {
        return Ok(Plan {
            strategy: RoutingStrategy::Single,
            reason: format!("single location: {}", describe(single, to)),
            allocations: vec![Allocation {
                location: single.id,
                lines: lines.clone(),
            }],
        });
    }

    let short: Vec<(SkuId, i32)> = lines
        .iter()
        .filter_map(|(sku, qty)| {
            let total: i64 = eligible.iter().map(|c| i64::from(has(c, sku))).sum();
            (total < i64::from(*qty)).then(|| (*sku, total.min(i64::from(i32::MAX)) as i32))
        })
        .collect();
    if !short.is_empty() {
        return Err(Unroutable { short });
    }

    let chosen = fewest_covering(lines, &eligible);
    // Allocate each SKU from the nearest chosen location first.
    let mut allocations: Vec<Allocation> = Vec::new();
    for c in &chosen {
        let mut taken = BTreeMap::new();
        for (sku, qty) in lines {
            let already: i32 = allocations
                .iter()
                .map(|a| a.lines.get(sku).copied().unwrap_or(0))
                .sum();
            let take = (qty - already).min(has(c, sku));
            if take > 0 {
                taken.insert(*sku, take);
            }
        }
        if !taken.is_empty() {
            allocations.push(Allocation {
                location: c.id,
                lines: taken,
            });
        }
    }
    let names: Vec<String> = chosen
        .iter()
        .filter(|c| allocations.iter().any(|a| a.location == c.id))
        .map(|c| describe(c, to))
        .collect();
    Ok(Plan {
        strategy: RoutingStrategy::Split,
        reason: format!(
            "split: {} locations ({})",
            allocations.len(),
            names.join("; ")
        ),
        allocations,
    })
}

fn covers(lines: &BTreeMap<SkuId, i32>, set: &[&Candidate]) -> bool {
    lines.iter().all(|(sku, qty)| {
        set.iter()
            .map(|c| i64::from(c.available.get(sku).copied().unwrap_or(0).max(0)))
            .sum::<i64>()
            >= i64::from(*qty)
    })
}

/// The smallest set of locations (nearest-first among equals) that covers every line.
fn fewest_covering<'a>(
    lines: &BTreeMap<SkuId, i32>,
    eligible: &[&'a Candidate],
) -> Vec<&'a Candidate> {
    if eligible.len() <= EXHAUSTIVE_LIMIT {
        // Subsets in order of size, then closeness (eligible is sorted nearest first, so
        // the first covering subset of each size in index order is the nearest one).
        for size in 2..=eligible.len() {
            let mut best: Option<Vec<usize>> = None;
            for mask in 0_u32..(1 << eligible.len()) {
                if mask.count_ones() as usize != size {
                    continue;
                }
                let picked: Vec<usize> = (0..eligible.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .collect();
                let set: Vec<&Candidate> = picked.iter().map(|i| eligible[*i]).collect();
                if covers(lines, &set) && best.as_ref().is_none_or(|b| picked < *b) {
                    best = Some(picked);
                }
            }
            if let Some(best) = best {
                return best.into_iter().map(|i| eligible[i]).collect();
            }
        }
    }
    // Greedy: repeatedly take the location that covers most of what is still missing.
    let mut missing = lines.clone();
    let mut chosen: Vec<&Candidate> = Vec::new();
    while missing.values().any(|q| *q > 0) {
        let next = eligible
            .iter()
            .filter(|c| !chosen.iter().any(|x| x.id == c.id))
            .max_by_key(|c| {
                let covered: i64 = missing
                    .iter()
                    .map(|(s, q)| {
                        i64::from((*q).min(c.available.get(s).copied().unwrap_or(0).max(0)))
                    })
                    .sum();
                (
                    covered,
                    std::cmp::Reverse(eligible.iter().position(|e| e.id == c.id)),
                )
            });
        let Some(next) = next else { break };
        for (sku, qty) in missing.iter_mut() {
            *qty -= (*qty).min(next.available.get(sku).copied().unwrap_or(0).max(0));
        }
        chosen.push(next);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn candidate(id: i64, coordinates: (f64, f64), stock: &[(i64, i32)]) -> Candidate {
        Candidate {
            id: LocationId(id),
            name: format!("L{id}"),
            active: true,
            ships_to: vec!["US".into()],
            region: None,
            coordinates: Some(coordinates),
            priority: 0,
            available: stock.iter().map(|(s, q)| (SkuId(*s), *q)).collect(),
        }
    }

    fn lines(items: &[(i64, i32)]) -> BTreeMap<SkuId, i32> {
        items.iter().map(|(s, q)| (SkuId(*s), *q)).collect()
    }

    const SF: (f64, f64) = (37.79, -122.43);
    const RENO: (f64, f64) = (39.51, -119.78);
    const NEWARK: (f64, f64) = (40.72, -74.14);

    fn to_sf() -> Destination {
        Destination {
            country: "US".into(),
            region: Some("CA".into()),
            coordinates: Some(SF),
        }
    }

    #[test]
    fn prefers_the_nearest_location_that_ships_everything() {
        let plan = route(
            &lines(&[(1, 2)]),
            &[
                candidate(1, NEWARK, &[(1, 5)]),
                candidate(2, RENO, &[(1, 5)]),
            ],
            &to_sf(),
        )
        .unwrap();
        assert_eq!(plan.strategy, RoutingStrategy::Single);
        assert_eq!(plan.allocations[0].location, LocationId(2));
        assert!(
            plan.reason.starts_with("single location: L2, "),
            "{}",
            plan.reason
        );
    }

    #[test]
    fn a_complete_location_beats_a_nearer_partial_one() {
        let near = candidate(1, RENO, &[(1, 1), (2, 1)]);
        let far = candidate(2, NEWARK, &[(1, 1), (2, 1), (3, 1)]);
        let plan = route(&lines(&[(1, 1), (2, 1), (3, 1)]), &[near, far], &to_sf()).unwrap();
        assert_eq!(plan.allocations.len(), 1);
        assert_eq!(plan.allocations[0].location, LocationId(2));
    }

    #[test]
    fn splits_across_the_fewest_locations() {
        let a = candidate(1, RENO, &[(1, 1)]);
        let b = candidate(2, NEWARK, &[(2, 1)]);
        let c = candidate(3, (34.05, -118.24), &[(1, 1), (2, 0)]);
        let plan = route(&lines(&[(1, 1), (2, 1)]), &[a, b, c], &to_sf()).unwrap();
        assert_eq!(plan.strategy, RoutingStrategy::Split);
        assert_eq!(plan.allocations.len(), 2);
        assert!(
            plan.reason.starts_with("split: 2 locations"),
            "{}",
            plan.reason
        );
    }

    #[test]
    fn skips_inactive_and_foreign_locations_and_reports_shortage() {
        let mut inactive = candidate(1, RENO, &[(1, 5)]);
        inactive.active = false;
        let mut canadian = candidate(2, RENO, &[(1, 5)]);
        canadian.ships_to = vec!["CA".into()];
        let err = route(&lines(&[(1, 1)]), &[inactive, canadian], &to_sf()).unwrap_err();
        assert_eq!(err.short, vec![(SkuId(1), 0)]);
    }

    proptest! {
        #[test]
        fn plans_cover_the_order_exactly_and_never_exceed_stock(
            stock in prop::collection::vec(prop::collection::vec(0_i32..6, 3), 1..7),
            wanted in prop::collection::vec(0_i32..8, 3),
        ) {
            let candidates: Vec<Candidate> = stock
                .iter()
                .enumerate()
                .map(|(i, s)| candidate(i as i64 + 1, (30.0 + i as f64, -100.0 - i as f64), &[(1, s[0]), (2, s[1]), (3, s[2])]))
                .collect();
            let order: BTreeMap<SkuId, i32> = wanted.iter().enumerate().filter(|(_, q)| **q > 0).map(|(i, q)| (SkuId(i as i64 + 1), *q)).collect();
            prop_assume!(!order.is_empty());
            match route(&order, &candidates, &to_sf()) {
                Ok(plan) => {
                    for (sku, qty) in &order {
                        let allocated: i32 = plan.allocations.iter().map(|a| a.lines.get(sku).copied().unwrap_or(0)).sum();
                        prop_assert_eq!(allocated, *qty, "covers exactly");
                    }
                    for a in &plan.allocations {
                        let c = candidates.iter().find(|c| c.id == a.location).unwrap();
                        for (sku, qty) in &a.lines {
                            prop_assert!(*qty > 0 && *qty <= c.available[sku], "within stock");
                        }
                    }
                }
                Err(unroutable) => {
                    for (sku, found) in unroutable.short {
                        let total: i32 = candidates.iter().map(|c| c.available[&sku]).sum();
                        prop_assert_eq!(total, found);
                        prop_assert!(total < order[&sku]);
                    }
                }
            }
        }
    }
}
