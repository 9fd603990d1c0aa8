//! How an automatic action is named: the page reads an element's tag, text and a few attributes
//! (`watchActions` in `js/page.js`, in the order of [`NAME_ATTRIBUTES`]), and this picks the
//! first a user sees. A click is named by its element; a form submit by the form's
//! `data-action`, else its submitter's name, else the form's own label, name or id.

use crate::text::split_byte;

/// The attributes the page reads from an element, in this order, after its tag name (lower
/// case) and its text (each value whitespace-collapsed and cut to
/// [`crate::recorder::limits::MAX_ACTION_NAME_UNITS`]), all separated by `\0`. For a submit,
/// the form's fields are followed by its submitter's, when there is one.
pub const NAME_ATTRIBUTES: &str = "data-action,aria-label,value,title,name,id";

/// Where each value is among an element's fields (tag, text, then [`NAME_ATTRIBUTES`]).
const TAG: usize = 0;
const TEXT: usize = 1;
const DATA_ACTION: usize = 2;
const ARIA_LABEL: usize = 3;
const VALUE: usize = 4;
const TITLE: usize = 5;
const NAME: usize = 6;
const ID: usize = 7;
/// Fields per element.
const FIELDS: usize = 8;

/// What names a clicked element, first first: what the app named it for actions, its
/// accessible label, what it shows, what it holds or hints, else its tag.
const CLICK: [usize; 6] = [DATA_ACTION, ARIA_LABEL, TEXT, VALUE, TITLE, TAG];
/// What names a submit: the form's `data-action`, its submitter's name (as a click's, without
/// the tag), the form's label, name or id, else `form`.
const SUBMIT: [usize; 10] = [
    DATA_ACTION,
    FIELDS + DATA_ACTION,
    FIELDS + ARIA_LABEL,
    FIELDS + TEXT,
    FIELDS + VALUE,
    FIELDS + TITLE,
    ARIA_LABEL,
    NAME,
    ID,
    TAG,
];

/// The name of the element the page read as `fields` (see [`NAME_ATTRIBUTES`]), a submit's
/// when `is_submit`: the value that is not blank and comes first in the order.
pub fn auto_action_name(fields: &str, is_submit: bool) -> &str {
    let order: &[usize] = if is_submit { &SUBMIT } else { &CLICK };
    let (mut best, mut best_rank) = ("", order.len());
    for (at, value) in split_byte(fields, 0).enumerate() {
        let rank = order.iter().position(|&i| i == at).unwrap_or(usize::MAX);
        if rank < best_rank && !value.trim_ascii().is_empty() {
            (best, best_rank) = (value, rank);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element's fields as the page writes them: tag, text, then [`NAME_ATTRIBUTES`].
    fn element(tag: &str, text: &str, attributes: &[(&str, &str)]) -> String {
        let mut fields = vec![tag, text];
        for name in NAME_ATTRIBUTES.split(',') {
            let value = attributes.iter().find(|(n, _)| *n == name);
            fields.push(value.map_or("", |(_, v)| v));
        }
        fields.join("\0")
    }

    #[test]
    fn a_click_is_named_by_data_action_then_label_then_text_then_value_then_title() {
        let all = [
            ("data-action", "checkout_submit"),
            ("aria-label", "Pay now"),
            ("value", "pay"),
            ("title", "Pays the order"),
        ];
        let cases = [
            (&all[..], "Pay", "checkout_submit"),
            (&all[1..], "Pay", "Pay now"),
            (&all[2..], "Pay", "Pay"),
            (&all[2..], " ", "pay"),
            (&all[3..], "", "Pays the order"),
            (&[][..], "", "button"),
        ];
        for (attributes, text, expected) in cases {
            let fields = element("button", text, attributes);
            assert_eq!(auto_action_name(&fields, false), expected, "{fields:?}");
        }
    }

    #[test]
    fn name_and_id_name_forms_only() {
        let fields = element("button", "", &[("name", "go"), ("id", "go-button")]);
        assert_eq!(auto_action_name(&fields, false), "button");
    }

    #[test]
    fn a_submit_is_named_by_the_forms_data_action_then_its_submitter_then_the_form() {
        let form = |attributes: &[(&str, &str)]| element("form", "Email Subscribe", attributes);
        let submitter = element("button", "Subscribe", &[]);
        let labelled = [("aria-label", "Newsletter"), ("name", "news"), ("id", "f1")];
        let cases = [
            (
                form(&[("data-action", "subscribe")]),
                Some(&submitter),
                "subscribe",
            ),
            (form(&labelled), Some(&submitter), "Subscribe"),
            (form(&labelled), None, "Newsletter"),
            (form(&labelled[1..]), None, "news"),
            (form(&labelled[2..]), None, "f1"),
            (form(&[]), Some(&element("input", "", &[])), "form"),
        ];
        for (form, submitter, expected) in cases {
            let fields = match submitter {
                Some(s) => format!("{form}\0{s}"),
                None => form.clone(),
            };
            assert_eq!(auto_action_name(&fields, true), expected, "{fields:?}");
        }
    }

    #[test]
    fn a_form_is_not_named_by_its_own_text() {
        let fields = element("form", "Email Subscribe", &[]);
        assert_eq!(auto_action_name(&fields, true), "form");
    }

    #[test]
    fn fewer_fields_than_expected_name_what_is_there() {
        assert_eq!(auto_action_name("a\0Open", false), "Open");
        assert_eq!(auto_action_name("a", false), "a");
        assert_eq!(auto_action_name("", true), "");
    }
}
