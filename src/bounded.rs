//! Bounded lists: the recorder keeps small histories (failures, attempts, requests in flight)
//! that forget their oldest entry when full. Written without `Vec::remove`, whose index panic
//! would bring `core::fmt` into the wasm file.

use alloc::vec::Vec;

/// Appends `item`, first dropping the oldest entry if `list` already holds `cap` items.
pub fn push_bounded<T>(list: &mut Vec<T>, item: T, cap: usize) {
    if list.len() >= cap {
        let mut rest = core::mem::take(list).into_iter();
        rest.next();
        list.extend(rest);
    }
    list.push(item);
}

/// Removes and returns the first entry matching `pred`, keeping the others in order.
pub fn take_first<T>(list: &mut Vec<T>, pred: impl Fn(&T) -> bool) -> Option<T> {
    if !list.iter().any(&pred) {
        return None;
    }
    let mut taken = None;
    for item in core::mem::take(list) {
        if taken.is_none() && pred(&item) {
            taken = Some(item);
        } else {
            list.push(item);
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_bounded_forgets_the_oldest() {
        let mut list = Vec::new();
        for n in 0..5 {
            push_bounded(&mut list, n, 3);
        }
        assert_eq!(list, [2, 3, 4]);
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
}
