//! XEP-0004 data forms as a plain DTO a UI can render field by field (the MUC room
//! configuration, muc#roomconfig, is one), and the `type='submit'` answer built from what the
//! user filled in, checked against the form first.
//!
//! Forms come from the network: the number of fields, values and options and the length of every
//! text are bounded, and control characters are removed before anything reaches the UI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType, Option_};
use xmpp_parsers::jid::Jid;

use super::clean_text;

pub const MAX_FIELDS: usize = 200;
pub const MAX_VALUES: usize = 100;
pub const MAX_OPTIONS: usize = 500;
pub const MAX_VALUE_CHARS: usize = 4096;
pub const MAX_LABEL_CHARS: usize = 512;
const FORM_TYPE: &str = "FORM_TYPE";

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// To be filled in and submitted.
    Form,
    Submit,
    /// Data to show, not to fill in.
    Result,
    Cancel,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    Boolean,
    /// Text to show (a section heading), never sent back.
    Fixed,
    /// Not shown; sent back unchanged.
    Hidden,
    JidSingle,
    JidMulti,
    ListSingle,
    ListMulti,
    TextMulti,
    /// A password: shown masked.
    TextPrivate,
    TextSingle,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormOption {
    pub label: Option<String>,
    pub value: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// `None` only for `fixed` fields.
    pub var: Option<String>,
    pub label: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    /// The current (default) values; one line each for text-multi.
    pub values: Vec<String>,
    pub options: Vec<FormOption>,
    pub desc: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub kind: FormKind,
    /// The hidden FORM_TYPE (XEP-0068), e.g. `http://jabber.org/protocol/muc#roomconfig`.
    pub form_type: Option<String>,
    pub title: Option<String>,
    pub instructions: Option<String>,
    pub fields: Vec<FormField>,
}

/// The user's answers: field var → values (one value for single fields).
pub type Answers = BTreeMap<String, Vec<String>>;

/// Why a form could not be submitted, in words for the person filling it in.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FormError {
    #[error("“{field}” must be filled in.")]
    MissingRequired { field: String },
    #[error("“{field}” takes one value, not {count}.")]
    TooManyValues { field: String, count: usize },
    #[error("“{value}” is not one of the choices for “{field}”.")]
    NotAnOption { field: String, value: String },
    #[error("“{value}” is not a valid address for “{field}”.")]
    InvalidJid { field: String, value: String },
    #[error("“{field}” must be yes or no, not “{value}”.")]
    InvalidBoolean { field: String, value: String },
    #[error("“{field}” is too long.")]
    TooLong { field: String },
    #[error("The form has no field “{field}”.")]
    UnknownField { field: String },
    #[error("Only a form of type 'form' can be submitted.")]
    NotFillable,
}

/// The form as the UI shows it. Bounded and cleaned; never fails.
pub fn from_data_form(form: &DataForm) -> Form {
    Form {
        kind: form_kind(&form.type_),
        form_type: form.form_type().map(|t| clean_text(t, MAX_VALUE_CHARS)),
        title: cleaned(form.title.as_deref(), MAX_LABEL_CHARS),
        instructions: cleaned(form.instructions.as_deref(), MAX_VALUE_CHARS),
        fields: form.fields.iter().take(MAX_FIELDS).map(form_field).collect(),
    }
}

fn form_kind(kind: &DataFormType) -> FormKind {
    match kind {
        DataFormType::Form => FormKind::Form,
        DataFormType::Submit => FormKind::Submit,
        DataFormType::Result_ => FormKind::Result,
        DataFormType::Cancel => FormKind::Cancel,
    }
}

fn form_field(field: &Field) -> FormField {
    FormField {
        var: field.var.as_deref().map(|v| clean_text(v, MAX_LABEL_CHARS)),
        label: cleaned(field.label.as_deref(), MAX_LABEL_CHARS),
        kind: field_kind(&field.type_),
        required: field.required,
        values: field.values.iter().take(MAX_VALUES).map(|v| clean_text(v, MAX_VALUE_CHARS)).collect(),
        options: field.options.iter().take(MAX_OPTIONS).map(form_option).collect(),
        desc: cleaned(field.desc.as_deref(), MAX_VALUE_CHARS),
    }
}

fn form_option(option: &Option_) -> FormOption {
    FormOption { label: cleaned(option.label.as_deref(), MAX_LABEL_CHARS), value: clean_text(&option.value, MAX_VALUE_CHARS) }
}

fn cleaned(text: Option<&str>, max_chars: usize) -> Option<String> {
    text.map(|t| clean_text(t, max_chars)).filter(|t| !t.trim().is_empty())
}

fn field_kind(kind: &FieldType) -> FieldKind {
    match kind {
        FieldType::Boolean => FieldKind::Boolean,
        FieldType::Fixed => FieldKind::Fixed,
        FieldType::Hidden => FieldKind::Hidden,
        FieldType::JidSingle => FieldKind::JidSingle,
        FieldType::JidMulti => FieldKind::JidMulti,
        FieldType::ListSingle => FieldKind::ListSingle,
        FieldType::ListMulti => FieldKind::ListMulti,
        FieldType::TextMulti => FieldKind::TextMulti,
        FieldType::TextPrivate => FieldKind::TextPrivate,
        FieldType::TextSingle => FieldKind::TextSingle,
    }
}

fn field_type(kind: FieldKind) -> FieldType {
    match kind {
        FieldKind::Boolean => FieldType::Boolean,
        FieldKind::Fixed => FieldType::Fixed,
        FieldKind::Hidden => FieldType::Hidden,
        FieldKind::JidSingle => FieldType::JidSingle,
        FieldKind::JidMulti => FieldType::JidMulti,
        FieldKind::ListSingle => FieldType::ListSingle,
        FieldKind::ListMulti => FieldType::ListMulti,
        FieldKind::TextMulti => FieldType::TextMulti,
        FieldKind::TextPrivate => FieldType::TextPrivate,
        FieldKind::TextSingle => FieldType::TextSingle,
    }
}

/// The `type='submit'` form answering `form`: hidden fields (FORM_TYPE first) go back unchanged,
/// fixed ones not at all; a field without an answer keeps the form's default values.
pub fn submit(form: &Form, answers: &Answers) -> Result<DataForm, FormError> {
    if form.kind != FormKind::Form {
        return Err(FormError::NotFillable);
    }
    if let Some(unknown) = answers.keys().find(|var| !form.fields.iter().any(|f| f.var.as_deref() == Some(var.as_str()))) {
        return Err(FormError::UnknownField { field: unknown.clone() });
    }
    let mut fields = Vec::new();
    for field in &form.fields {
        let Some(var) = field.var.as_deref() else { continue };
        if field.kind == FieldKind::Fixed {
            continue;
        }
        let values = match (field.kind, answers.get(var)) {
            (FieldKind::Hidden, _) | (_, None) => field.values.clone(),
            (_, Some(answer)) => answer.clone(),
        };
        let values = checked_values(field, values)?;
        let mut submitted = Field::new(var, field_type(field.kind));
        submitted.values = values;
        fields.push(submitted);
    }
    // XEP-0068: the FORM_TYPE comes first.
    fields.sort_by_key(|f| f.var.as_deref() != Some(FORM_TYPE));
    Ok(DataForm { type_: DataFormType::Submit, title: None, instructions: None, fields })
}

/// A `type='cancel'` form (e.g. to give up configuring a newly created room).
pub fn cancel() -> DataForm {
    DataForm { type_: DataFormType::Cancel, title: None, instructions: None, fields: Vec::new() }
}

fn checked_values(field: &FormField, values: Vec<String>) -> Result<Vec<String>, FormError> {
    let name = || field.label.clone().or_else(|| field.var.clone()).unwrap_or_default();
    let values: Vec<String> = match field.kind {
        // A multi-line text arrives as one string from a text box: one value per line.
        FieldKind::TextMulti => values.iter().flat_map(|v| v.split('\n')).map(|l| l.trim_end_matches('\r').to_owned()).collect(),
        FieldKind::Hidden => values,
        _ => values.into_iter().filter(|v| !v.trim().is_empty()).collect(),
    };
    if values.len() > MAX_VALUES || values.iter().any(|v| v.chars().count() > MAX_VALUE_CHARS) {
        return Err(FormError::TooLong { field: name() });
    }
    if field.required && values.iter().all(|v| v.trim().is_empty()) {
        return Err(FormError::MissingRequired { field: name() });
    }
    let single = matches!(
        field.kind,
        FieldKind::Boolean | FieldKind::JidSingle | FieldKind::ListSingle | FieldKind::TextSingle | FieldKind::TextPrivate
    );
    if single && values.len() > 1 {
        return Err(FormError::TooManyValues { field: name(), count: values.len() });
    }
    match field.kind {
        FieldKind::Boolean => values.iter().map(|v| boolean(v).ok_or_else(|| FormError::InvalidBoolean { field: name(), value: v.clone() })).collect(),
        FieldKind::JidSingle | FieldKind::JidMulti => {
            for value in &values {
                value.trim().parse::<Jid>().map_err(|_| FormError::InvalidJid { field: name(), value: value.clone() })?;
            }
            Ok(values.into_iter().map(|v| v.trim().to_owned()).collect())
        }
        FieldKind::ListSingle | FieldKind::ListMulti if !field.options.is_empty() => {
            if let Some(value) = values.iter().find(|v| !field.options.iter().any(|o| &o.value == *v)) {
                return Err(FormError::NotAnOption { field: name(), value: value.clone() });
            }
            Ok(values)
        }
        _ => Ok(values),
    }
}

/// XEP-0004 §3.3: booleans are "0"/"false" or "1"/"true"; we send the digit.
fn boolean(value: &str) -> Option<String> {
    match value.trim() {
        "1" | "true" => Some("1".into()),
        "0" | "false" => Some("0".into()),
        _ => None,
    }
}

/// A boolean field's value as the UI needs it (absent or unreadable: false).
pub fn is_true(field: &FormField) -> bool {
    field.values.first().is_some_and(|v| boolean(v).as_deref() == Some("1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::minidom::Element;

    /// XEP-0045 Example 165 (owner's room configuration form), shortened, as Prosody sends it.
    const ROOM_CONFIG: &str = "<x xmlns='jabber:x:data' type='form'>\
        <title>Configuration for \"coven\" Room</title>\
        <instructions>Complete this form to modify the configuration of your room.</instructions>\
        <field type='hidden' var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
        <field type='fixed'><value>Room information</value></field>\
        <field label='Natural-Language Room Name' type='text-single' var='muc#roomconfig_roomname'><value>A Dark Cave</value></field>\
        <field label='Short Description of Room' type='text-multi' var='muc#roomconfig_roomdesc'><value>The place for all good witches!</value></field>\
        <field label='Make Room Persistent?' type='boolean' var='muc#roomconfig_persistentroom'><value>0</value></field>\
        <field label='Password' type='text-private' var='muc#roomconfig_roomsecret'/>\
        <field label='Who May Discover Real JIDs?' type='list-single' var='muc#roomconfig_whois'>\
          <option label='Moderators Only'><value>moderators</value></option>\
          <option label='Anyone'><value>anyone</value></option><value>moderators</value></field>\
        <field label='Roles for which Presence is Broadcasted' type='list-multi' var='muc#roomconfig_presencebroadcast'>\
          <value>moderator</value><value>participant</value>\
          <option label='Moderator'><value>moderator</value></option>\
          <option label='Participant'><value>participant</value></option>\
          <option label='Visitor'><value>visitor</value></option></field>\
        <field label='Full List of Room Admins' type='jid-multi' var='muc#roomconfig_roomadmins'><value>wiccarocks@shakespeare.lit</value></field>\
        <field label='Room name required' type='text-single' var='x-required' ><required/><value>set</value></field>\
      </x>";

    fn parse(xml: &str) -> DataForm {
        DataForm::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    fn room_config() -> Form {
        from_data_form(&parse(ROOM_CONFIG))
    }

    fn field<'a>(form: &'a Form, var: &str) -> &'a FormField {
        form.fields.iter().find(|f| f.var.as_deref() == Some(var)).unwrap()
    }

    #[test]
    fn a_room_configuration_form_becomes_fields_the_ui_can_render() {
        let form = room_config();
        assert_eq!(form.kind, FormKind::Form);
        assert_eq!(form.form_type.as_deref(), Some("http://jabber.org/protocol/muc#roomconfig"));
        assert_eq!(form.title.as_deref(), Some("Configuration for \"coven\" Room"));
        assert_eq!(form.fields.len(), 10);
        assert_eq!(form.fields[1].kind, FieldKind::Fixed);
        assert_eq!(form.fields[1].var, None);
        let whois = field(&form, "muc#roomconfig_whois");
        assert_eq!(whois.kind, FieldKind::ListSingle);
        assert_eq!(whois.options[1], FormOption { label: Some("Anyone".into()), value: "anyone".into() });
        assert_eq!(whois.values, ["moderators"]);
        assert!(!is_true(field(&form, "muc#roomconfig_persistentroom")));
        assert_eq!(field(&form, "muc#roomconfig_roomsecret").kind, FieldKind::TextPrivate);
        assert!(field(&form, "x-required").required);
    }

    #[test]
    fn hostile_forms_are_bounded_and_cleaned() {
        let many: String = (0..MAX_FIELDS + 50).map(|i| format!("<field var='f{i}'><value>v</value></field>")).collect();
        let long = "x".repeat(MAX_VALUE_CHARS * 2);
        let xml = format!(
            "<x xmlns='jabber:x:data' type='form'><title>Evil\u{9b}31m\u{7f} title</title>\
               <field var='long' label='a\u{85}b'><value>{long}</value></field>{many}</x>"
        );
        // C0 controls are not XML (the parser refuses them); C1 controls and DEL get through.
        let form = from_data_form(&parse(&xml));
        assert_eq!(form.fields.len(), MAX_FIELDS);
        assert_eq!(form.title.as_deref(), Some("Evil31m title"));
        assert_eq!(form.fields[0].label.as_deref(), Some("ab"));
        assert_eq!(form.fields[0].values[0].chars().count(), MAX_VALUE_CHARS);
    }

    #[test]
    fn submitting_carries_form_type_and_hidden_fields_and_drops_fixed_ones() {
        let mut answers = Answers::new();
        answers.insert("muc#roomconfig_roomname".into(), vec!["Coven".into()]);
        answers.insert("muc#roomconfig_persistentroom".into(), vec!["true".into()]);
        answers.insert("FORM_TYPE".into(), vec!["urn:evil".into()]);
        let submitted = submit(&room_config(), &answers).unwrap();
        assert_eq!(submitted.type_, DataFormType::Submit);
        assert_eq!(submitted.form_type(), Some("http://jabber.org/protocol/muc#roomconfig"), "hidden values cannot be changed");
        assert_eq!(submitted.fields[0].var.as_deref(), Some("FORM_TYPE"));
        assert!(submitted.fields.iter().all(|f| f.type_ != FieldType::Fixed));
        let value = |var: &str| submitted.fields.iter().find(|f| f.var.as_deref() == Some(var)).unwrap().values.clone();
        assert_eq!(value("muc#roomconfig_roomname"), ["Coven"]);
        assert_eq!(value("muc#roomconfig_persistentroom"), ["1"]);
        assert_eq!(value("muc#roomconfig_whois"), ["moderators"], "unanswered fields keep their defaults");
        // The XML is a valid submit form.
        let xml = String::from(&Element::from(submitted.clone()));
        assert!(xml.contains("type='submit'") || xml.contains("type=\"submit\""), "{xml}");
        DataForm::try_from(Element::from(submitted)).unwrap();
    }

    #[test]
    fn required_fields_must_be_answered() {
        let mut answers = Answers::new();
        answers.insert("x-required".into(), vec!["  ".into()]);
        assert_eq!(submit(&room_config(), &answers).unwrap_err(), FormError::MissingRequired { field: "Room name required".into() });
    }

    #[test]
    fn list_answers_must_be_among_the_options() {
        let mut answers = Answers::new();
        answers.insert("muc#roomconfig_whois".into(), vec!["everyone-and-their-dog".into()]);
        assert!(matches!(submit(&room_config(), &answers), Err(FormError::NotAnOption { .. })));
        let mut multi = Answers::new();
        multi.insert("muc#roomconfig_presencebroadcast".into(), vec!["moderator".into(), "owner".into()]);
        assert!(matches!(submit(&room_config(), &multi), Err(FormError::NotAnOption { value, .. }) if value == "owner"));
    }

    #[test]
    fn single_fields_take_one_value_and_booleans_and_jids_are_checked() {
        type Expected = fn(&FormError) -> bool;
        let cases: [(&str, Vec<&str>, Expected); 4] = [
            ("muc#roomconfig_roomname", vec!["a", "b"], |e| matches!(e, FormError::TooManyValues { count: 2, .. })),
            ("muc#roomconfig_persistentroom", vec!["yes"], |e| matches!(e, FormError::InvalidBoolean { .. })),
            ("muc#roomconfig_roomadmins", vec!["ok@example.org", "not a jid@@"], |e| matches!(e, FormError::InvalidJid { .. })),
            ("no-such-field", vec!["x"], |e| matches!(e, FormError::UnknownField { .. })),
        ];
        for (var, values, expected) in cases {
            let mut answers = Answers::new();
            answers.insert(var.into(), values.into_iter().map(String::from).collect());
            let error = submit(&room_config(), &answers).unwrap_err();
            assert!(expected(&error), "{var}: {error:?}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn multi_line_text_becomes_one_value_per_line() {
        let mut answers = Answers::new();
        answers.insert("muc#roomconfig_roomdesc".into(), vec!["line one\r\nline two".into()]);
        let submitted = submit(&room_config(), &answers).unwrap();
        let desc = submitted.fields.iter().find(|f| f.var.as_deref() == Some("muc#roomconfig_roomdesc")).unwrap();
        assert_eq!(desc.values, ["line one", "line two"]);
    }

    #[test]
    fn only_a_fillable_form_can_be_submitted_and_cancel_is_empty() {
        let result = from_data_form(&parse("<x xmlns='jabber:x:data' type='result'><field var='a'><value>1</value></field></x>"));
        assert_eq!(submit(&result, &Answers::new()).unwrap_err(), FormError::NotFillable);
        let cancel = cancel();
        assert_eq!(cancel.type_, DataFormType::Cancel);
        assert!(cancel.fields.is_empty());
    }

    #[test]
    fn errors_serialize_with_a_code() {
        let json = serde_json::to_value(FormError::MissingRequired { field: "Name".into() }).unwrap();
        assert_eq!(json["code"], "missing_required");
    }
}
