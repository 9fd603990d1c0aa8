//! Bounded lists: the recorder keeps small histories (failures, attempts, requests in flight)
//! that forget their oldest entries when full. Each call is cheap on the per-request path: a
//! full list drops its older half at once, so the shifting is paid once per `cap / 2` pushes.

use alloc::vec::Vec;

/// Appends `item`; a list already holding `cap` items first forgets its older half.
pub fn push_bounded<T>(list: &mut Vec<T>, item: T, cap: usize) {
    if list.len() >= cap {
        let newer = list.split_off(list.len() / 2);
        *list = newer;
    }
    list.push(item);
}

/// Removes and returns the first entry matching `pred`, keeping the others in order.
pub fn take_first<T>(list: &mut Vec<T>, pred: impl Fn(&T) -> bool) -> Option<T> {
    let pos = list.iter().position(pred)?;
    Some(list.remove(pos))
}

/// Removes and returns an entry matching `pred`, moving the last entry into its place: for a
/// long list whose order does not matter, where keeping the order would shift every later
/// entry (requests in flight mostly end in the order they started, i.e. near the front).
pub fn take_unordered<T>(list: &mut Vec<T>, pred: impl Fn(&T) -> bool) -> Option<T> {
    let pos = list.iter().position(pred)?;
    Some(list.swap_remove(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_bounded_forgets_the_oldest() {
        let mut list = Vec::new();
        for n in 0..10 {
            push_bounded(&mut list, n, 4);
            assert!(list.len() <= 4);
        }
        assert_eq!(list, [6, 7, 8, 9], "the newest stay");
    }

    #[test]
    fn take_first_keeps_the_rest_in_order() {
        let mut list = vec![1, 2, 3, 2, 4];
        assert_eq!(take_first(&mut list, |n| *n == 2), Some(2));
        assert_eq!(list, [1, 3, 2, 4]);
        assert_eq!(take_first(&mut list, |n| *n == 9), None);
        assert_eq!(take_first(&mut list, |n| *n == 4), Some(4));
        assert_eq!(list, [1, 3, 2]);
    }

    #[test]
    fn take_unordered_moves_the_last_entry_into_the_gap() {
        let mut list = vec![1, 2, 3, 4];
        assert_eq!(take_unordered(&mut list, |n| *n == 1), Some(1));
        assert_eq!(list, [4, 2, 3]);
        assert_eq!(take_unordered(&mut list, |n| *n == 9), None);
        assert_eq!(take_unordered(&mut list, |n| *n == 3), Some(3));
        assert_eq!(list, [4, 2]);
    }
}
