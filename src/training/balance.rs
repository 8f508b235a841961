//! How many images of each batch every replica gets: shares that follow the replicas' measured
//! pace, so that none of them waits long for another.
//!
//! Equal shares leave cores idle whenever the replicas differ: the trainer also assembles every
//! batch and sums the gradients, a laptop's efficiency cores run at a third of its performance
//! cores' pace, and a core the page's own thread needs for a moment falls behind. Each step every
//! replica reports how long it sat idle; a replica that waited less than the others gets a
//! smaller share next time. Shares always sum to the batch and each share's loss is weighted by
//! its part of it ([`ShardWork::batch_len`](super::ShardWork::batch_len)), so the step is the
//! same whatever the split, up to float rounding.

/// Part of the gap to the measured pace closed each step: shares move over some hundred steps
/// (a second or two), so one slow step barely moves them. Single steps are noisy: in the page
/// on two cores the idle times of steps of ~10 ms range from 0.2 to 6 ms.
const FOLLOW: f64 = 0.01;
/// No replica's weight falls below this part of an equal share's, so one that stalled for a
/// while still gets work and gets measured again.
const FLOOR: f64 = 0.1;

/// The weights of the replicas' shares (the trainer's first), summing to 1.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ShareBalance {
    weights: Vec<f64>,
}

impl ShareBalance {
    /// Equal shares for `parts` replicas.
    pub fn new(parts: usize) -> Self {
        let parts = parts.max(1);
        Self {
            weights: vec![1.0 / parts as f64; parts],
        }
    }

    /// Splits `indices` into one consecutive share per replica, sized by the weights (largest
    /// remainders round up). The trainer's share is never empty when there is an image.
    pub fn split<'a>(&self, indices: &'a [usize]) -> Vec<&'a [usize]> {
        let sizes = self.sizes(indices.len());
        let mut start = 0;
        sizes
            .into_iter()
            .map(|len| {
                let share = &indices[start..start + len];
                start += len;
                share
            })
            .collect()
    }

    /// The share sizes of a batch of `len` images, as [`split`](Self::split) cuts them.
    pub fn sizes(&self, len: usize) -> Vec<usize> {
        let exact: Vec<f64> = self.weights.iter().map(|w| w * len as f64).collect();
        let mut sizes: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
        let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
        by_remainder.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor()))
        });
        let missing = len - sizes.iter().sum::<usize>();
        for &i in by_remainder.iter().cycle().take(missing) {
            sizes[i] += 1;
        }
        if len > 0 && sizes[0] == 0 {
            let largest = (1..sizes.len()).max_by_key(|&i| sizes[i]).unwrap_or(0);
            sizes[largest] -= 1;
            sizes[0] += 1;
        }
        sizes
    }

    /// Follows one step: it took `period` seconds, and replica `i` (the trainer first) sat idle
    /// `idle[i]` of them. Each weight moves towards its share of the pace, its images per busy
    /// second; at rest every replica is busy equally long.
    pub fn follow(&mut self, period: f64, idle: &[f64]) {
        // A NaN or negative period (a clock that jumped) is no measurement.
        if idle.len() != self.weights.len() || period.is_nan() || period <= 0.0 {
            return;
        }
        // Busy at least a tenth of the step: a replica idle the whole step (its clock off, an
        // empty share) counts as fast, not infinitely so.
        let pace: Vec<f64> = (self.weights.iter().zip(idle))
            .map(|(w, idle)| w / (period - idle.max(0.0)).max(period / 10.0))
            .collect();
        let total: f64 = pace.iter().sum();
        let floor = FLOOR / self.weights.len() as f64;
        for (weight, pace) in self.weights.iter_mut().zip(&pace) {
            *weight = (*weight + FOLLOW * (pace / total - *weight)).max(floor);
        }
        let sum: f64 = self.weights.iter().sum();
        self.weights.iter_mut().for_each(|w| *w /= sum);
    }

    /// The weights, the trainer's first.
    #[cfg(test)]
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Shares with these weights (tests: a split the measurements would take long to reach).
    #[cfg(test)]
    pub fn with_weights(weights: &[f64]) -> Self {
        let sum: f64 = weights.iter().sum();
        Self {
            weights: weights.iter().map(|w| w / sum).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(balance: &ShareBalance, len: usize) -> Vec<usize> {
        let indices: Vec<usize> = (0..len).collect();
        balance.split(&indices).iter().map(|s| s.len()).collect()
    }

    #[test]
    fn equal_shares_split_like_before() {
        let balance = ShareBalance::new(3);
        assert_eq!(sizes(&balance, 64), vec![22, 21, 21]);
        assert_eq!(sizes(&balance, 1), vec![1, 0, 0]);
        assert_eq!(sizes(&balance, 0), vec![0, 0, 0]);
        let indices: Vec<usize> = (0..10).collect();
        let shares = balance.split(&indices);
        assert_eq!(shares, vec![&[0, 1, 2, 3][..], &[4, 5, 6], &[7, 8, 9]]);
        assert_eq!(ShareBalance::new(1).split(&indices), vec![&indices[..]]);
    }

    #[test]
    fn shares_always_cover_the_batch_and_the_trainer_gets_one() {
        let balance = ShareBalance {
            weights: vec![0.01, 0.66, 0.33],
        };
        for len in 0..70 {
            let s = sizes(&balance, len);
            assert_eq!(s.iter().sum::<usize>(), len);
            assert!(len == 0 || s[0] >= 1, "{s:?}");
        }
    }

    #[test]
    fn a_replica_that_waits_gets_more() {
        let mut balance = ShareBalance::new(2);
        balance.follow(0.010, &[0.004, 0.0]);
        assert!(balance.weights()[0] > 0.5, "{:?}", balance.weights());
        let mut even = ShareBalance::new(2);
        even.follow(0.010, &[0.001, 0.001]);
        assert_eq!(even, ShareBalance::new(2));
        // Nonsense measurements change nothing.
        even.follow(0.0, &[0.0, 0.0]);
        even.follow(0.01, &[0.0]);
        assert_eq!(even, ShareBalance::new(2));
    }

    /// Three replicas, the last at a third of the others' pace, each with a fixed cost a step:
    /// the shares settle where all are busy equally long, and the step is faster than with
    /// equal shares.
    #[test]
    fn shares_settle_where_no_replica_waits() {
        let per_image = [1.0e-4, 1.0e-4, 3.0e-4];
        let fixed = 1.0e-3;
        let busy = |sizes: &[usize]| -> Vec<f64> {
            sizes
                .iter()
                .zip(per_image)
                .map(|(&n, cost)| fixed + n as f64 * cost)
                .collect()
        };
        let mut balance = ShareBalance::new(3);
        let equal_period = busy(&sizes(&balance, 64)).into_iter().fold(0.0, f64::max);
        for _ in 0..1_000 {
            let busy = busy(&sizes(&balance, 64));
            let period = busy.iter().copied().fold(0.0, f64::max);
            let idle: Vec<f64> = busy.iter().map(|b| period - b).collect();
            balance.follow(period, &idle);
        }
        let settled = sizes(&balance, 64);
        let period = busy(&settled).into_iter().fold(0.0, f64::max);
        assert!(settled[2] < 14 && settled[0] > 24, "{settled:?}");
        assert!(period < 0.75 * equal_period, "{period} vs {equal_period}");
    }
}
