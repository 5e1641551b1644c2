//! The wording presswire itself puts into a message, around the press
//! officer's text: the embargo banner (and subject prefix), the masthead,
//! the footer's labels and the lines that tell the journalist why the
//! release came and how to stop it. One built-in table per language, and a
//! release's own `[strings]` merged over it, resolved once per release file.
//!
//! It does not own dates (`dates`), fonts or writing direction (`script`),
//! nor the layouts that place the words (`templates/`).

use std::collections::BTreeMap;

use minijinja::Value;

/// One piece of wording a release may set under `[strings]`.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    /// The placeholder the wording must contain once, e.g. `{outlet}`.
    pub placeholder: Option<&'static str>,
}

/// Every key, in the order the README and error messages list them.
pub const KEYS: &[Key] = &[
    key("embargo", Some("{until}")),
    key("kind", None),
    key("press_contact", None),
    key("email", None),
    key("phone", None),
    key("website", None),
    key("mirror", None),
    key("mirror_label", None),
    key("receive", None),
    key("receive_at", Some("{outlet}")),
    key("unsubscribe", None),
];

const fn key(name: &'static str, placeholder: Option<&'static str>) -> Key {
    Key { name, placeholder }
}

type Table = &'static [(&'static str, &'static str)];

/// The built-in wording by primary language subtag. Every table has every
/// key (a unit test checks it), in a press office's formal register.
const BUILT_IN: &[(&str, Table)] = &[
    ("en", EN),
    ("de", DE),
    ("fr", FR),
    ("es", ES),
    ("pt", PT),
    ("it", IT),
    ("nl", NL),
    ("sv", SV),
    ("ar", AR),
    ("ru", RU),
    ("zh", ZH),
    ("my", MY),
    ("th", TH),
    ("id", ID),
    ("sw", SW),
];

const EN: Table = &[
    ("embargo", "EMBARGOED UNTIL {until}"),
    ("kind", "Media statement"),
    ("press_contact", "Press contact"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("website", "Website"),
    (
        "mirror",
        "If our website is blocked where you are, use the mirror",
    ),
    ("mirror_label", "Mirror (if the website is blocked)"),
    ("receive", "You receive this release as a journalist."),
    (
        "receive_at",
        "You receive this release as a journalist at {outlet}.",
    ),
    (
        "unsubscribe",
        "Reply to this e-mail if you would rather not receive our releases.",
    ),
];

const DE: Table = &[
    ("embargo", "SPERRFRIST BIS {until}"),
    ("kind", "Pressemitteilung"),
    ("press_contact", "Pressekontakt"),
    ("email", "E-Mail"),
    ("phone", "Telefon"),
    ("website", "Website"),
    (
        "mirror",
        "Falls unsere Website bei Ihnen gesperrt ist, nutzen Sie den Spiegel",
    ),
    ("mirror_label", "Spiegel (falls die Website gesperrt ist)"),
    (
        "receive",
        "Sie erhalten diese Pressemitteilung als Journalist*in.",
    ),
    (
        "receive_at",
        "Sie erhalten diese Pressemitteilung als Journalist*in bei {outlet}.",
    ),
    (
        "unsubscribe",
        "Antworten Sie einfach auf diese E-Mail, wenn Sie keine weiteren Mitteilungen wünschen.",
    ),
];

const FR: Table = &[
    ("embargo", "SOUS EMBARGO JUSQU'AU {until}"),
    ("kind", "Communiqué de presse"),
    ("press_contact", "Contact presse"),
    ("email", "Courriel"),
    ("phone", "Téléphone"),
    ("website", "Site web"),
    (
        "mirror",
        "Si notre site est bloqué chez vous, utilisez le site miroir",
    ),
    ("mirror_label", "Site miroir (si le site est bloqué)"),
    (
        "receive",
        "Vous recevez ce communiqué en votre qualité de journaliste.",
    ),
    (
        "receive_at",
        "Vous recevez ce communiqué en votre qualité de journaliste chez {outlet}.",
    ),
    (
        "unsubscribe",
        "Si vous ne souhaitez plus recevoir nos communiqués, il vous suffit de répondre à ce courriel.",
    ),
];

const ES: Table = &[
    ("embargo", "EMBARGADO HASTA EL {until}"),
    ("kind", "Comunicado de prensa"),
    ("press_contact", "Contacto de prensa"),
    ("email", "Correo electrónico"),
    ("phone", "Teléfono"),
    ("website", "Sitio web"),
    (
        "mirror",
        "Si nuestro sitio web está bloqueado en su país, utilice el sitio espejo",
    ),
    (
        "mirror_label",
        "Sitio espejo (si el sitio web está bloqueado)",
    ),
    (
        "receive",
        "Recibe este comunicado en su calidad de periodista.",
    ),
    (
        "receive_at",
        "Recibe este comunicado en su calidad de periodista en {outlet}.",
    ),
    (
        "unsubscribe",
        "Si prefiere no recibir más comunicados nuestros, responda a este correo.",
    ),
];

// Portuguese that reads as formal in Portugal and in Brazil alike
// ("Assessoria de imprensa", no "você").
const PT: Table = &[
    ("embargo", "SOB EMBARGO ATÉ {until}"),
    ("kind", "Comunicado de imprensa"),
    ("press_contact", "Assessoria de imprensa"),
    ("email", "E-mail"),
    ("phone", "Telefone"),
    ("website", "Website"),
    (
        "mirror",
        "Se o nosso site estiver bloqueado no seu país, utilize o site espelho",
    ),
    ("mirror_label", "Site espelho (se o site estiver bloqueado)"),
    (
        "receive",
        "Recebe este comunicado na qualidade de jornalista.",
    ),
    (
        "receive_at",
        "Recebe este comunicado na qualidade de jornalista ({outlet}).",
    ),
    (
        "unsubscribe",
        "Se preferir não receber os nossos comunicados, basta responder a este e-mail.",
    ),
];

const IT: Table = &[
    ("embargo", "EMBARGO FINO AL {until}"),
    ("kind", "Comunicato stampa"),
    ("press_contact", "Contatto stampa"),
    ("email", "E-mail"),
    ("phone", "Telefono"),
    ("website", "Sito web"),
    (
        "mirror",
        "Se il nostro sito è bloccato nel suo Paese, usi il sito mirror",
    ),
    ("mirror_label", "Sito mirror (se il sito è bloccato)"),
    (
        "receive",
        "Riceve questo comunicato in qualità di giornalista.",
    ),
    (
        "receive_at",
        "Riceve questo comunicato in qualità di giornalista presso {outlet}.",
    ),
    (
        "unsubscribe",
        "Se preferisce non ricevere più i nostri comunicati, risponda a questa e-mail.",
    ),
];

const NL: Table = &[
    ("embargo", "EMBARGO TOT {until}"),
    ("kind", "Persbericht"),
    ("press_contact", "Perscontact"),
    ("email", "E-mail"),
    ("phone", "Telefoon"),
    ("website", "Website"),
    (
        "mirror",
        "Is onze website bij u geblokkeerd, gebruik dan de spiegelsite",
    ),
    (
        "mirror_label",
        "Spiegelsite (als de website geblokkeerd is)",
    ),
    ("receive", "U ontvangt dit persbericht als journalist."),
    (
        "receive_at",
        "U ontvangt dit persbericht als journalist bij {outlet}.",
    ),
    (
        "unsubscribe",
        "Beantwoord deze e-mail als u onze persberichten liever niet meer ontvangt.",
    ),
];

const SV: Table = &[
    ("embargo", "UNDER EMBARGO TILL {until}"),
    ("kind", "Pressmeddelande"),
    ("press_contact", "Presskontakt"),
    ("email", "E-post"),
    ("phone", "Telefon"),
    ("website", "Webbplats"),
    (
        "mirror",
        "Om vår webbplats är blockerad där du befinner dig kan du använda spegelsajten",
    ),
    ("mirror_label", "Spegelsajt (om webbplatsen är blockerad)"),
    (
        "receive",
        "Du får detta pressmeddelande i egenskap av journalist.",
    ),
    (
        "receive_at",
        "Du får detta pressmeddelande i egenskap av journalist på {outlet}.",
    ),
    (
        "unsubscribe",
        "Svara på detta mejl om du inte längre vill få våra pressmeddelanden.",
    ),
];

// Formal Arabic addresses the reader in the plural of respect; "by virtue
// of your work as a journalist" leaves the reader's gender open.
const AR: Table = &[
    ("embargo", "يُحظر النشر قبل {until}"),
    ("kind", "بيان صحفي"),
    ("press_contact", "للتواصل الإعلامي"),
    ("email", "البريد الإلكتروني"),
    ("phone", "الهاتف"),
    ("website", "الموقع الإلكتروني"),
    (
        "mirror",
        "إذا كان موقعنا محجوباً في بلدكم، يمكنكم استخدام الموقع البديل",
    ),
    ("mirror_label", "الموقع البديل (إذا كان الموقع محجوباً)"),
    ("receive", "يصلكم هذا البيان بحكم عملكم الصحفي."),
    (
        "receive_at",
        "يصلكم هذا البيان بحكم عملكم الصحفي في {outlet}.",
    ),
    (
        "unsubscribe",
        "إذا كنتم لا ترغبون في تلقي بياناتنا، يُرجى الرد على هذه الرسالة.",
    ),
];

// The outlet in quotes after «издания»: its name then needs no declension.
const RU: Table = &[
    ("embargo", "ЭМБАРГО ДО {until}"),
    ("kind", "Пресс-релиз"),
    ("press_contact", "Контакты для СМИ"),
    ("email", "Эл. почта"),
    ("phone", "Телефон"),
    ("website", "Сайт"),
    (
        "mirror",
        "Если наш сайт заблокирован в Вашей стране, воспользуйтесь зеркалом",
    ),
    ("mirror_label", "Зеркало (если сайт заблокирован)"),
    ("receive", "Вы получаете этот пресс-релиз как журналист."),
    (
        "receive_at",
        "Вы получаете этот пресс-релиз как журналист издания «{outlet}».",
    ),
    (
        "unsubscribe",
        "Если Вы не хотите больше получать наши пресс-релизы, просто ответьте на это письмо.",
    ),
];

const ZH: Table = &[
    ("embargo", "禁发至 {until}"),
    ("kind", "新闻稿"),
    ("press_contact", "媒体联系人"),
    ("email", "电子邮件"),
    ("phone", "电话"),
    ("website", "网站"),
    ("mirror", "如您所在地区无法访问我们的网站，请使用镜像网站"),
    ("mirror_label", "镜像网站（如网站无法访问）"),
    ("receive", "您作为记者收到本新闻稿。"),
    ("receive_at", "您作为{outlet}的记者收到本新闻稿。"),
    (
        "unsubscribe",
        "如您不希望再收到我们的新闻稿，请直接回复本邮件。",
    ),
];

// Burmese puts the time first: "{until} must not be published before".
const MY: Table = &[
    ("embargo", "{until} မတိုင်မီ သတင်းမဖော်ပြရ"),
    ("kind", "သတင်းထုတ်ပြန်ချက်"),
    ("press_contact", "မီဒီယာ ဆက်သွယ်ရန်"),
    ("email", "အီးမေးလ်"),
    ("phone", "ဖုန်း"),
    ("website", "ဝဘ်ဆိုက်"),
    (
        "mirror",
        "သင့်ထံတွင် ကျွန်ုပ်တို့၏ ဝဘ်ဆိုက်ကို ဝင်ရောက်၍ မရပါက အရန်ဝဘ်ဆိုက်ကို အသုံးပြုနိုင်ပါသည်",
    ),
    ("mirror_label", "အရန်ဝဘ်ဆိုက် (ဝဘ်ဆိုက် ပိတ်ဆို့ခံရပါက)"),
    (
        "receive",
        "သတင်းထောက်တစ်ဦးဖြစ်သောကြောင့် ဤသတင်းထုတ်ပြန်ချက်ကို ပေးပို့ခြင်း ဖြစ်ပါသည်။",
    ),
    (
        "receive_at",
        "{outlet} မှ သတင်းထောက်တစ်ဦးဖြစ်သောကြောင့် ဤသတင်းထုတ်ပြန်ချက်ကို ပေးပို့ခြင်း ဖြစ်ပါသည်။",
    ),
    (
        "unsubscribe",
        "ကျွန်ုပ်တို့၏ သတင်းထုတ်ပြန်ချက်များကို ဆက်လက်မရယူလိုပါက ဤအီးမေးလ်ကို ပြန်ကြားပေးပါ။",
    ),
];

const TH: Table = &[
    ("embargo", "ห้ามเผยแพร่ก่อน {until}"),
    ("kind", "ข่าวประชาสัมพันธ์"),
    ("press_contact", "ติดต่อสื่อมวลชน"),
    ("email", "อีเมล"),
    ("phone", "โทรศัพท์"),
    ("website", "เว็บไซต์"),
    (
        "mirror",
        "หากไม่สามารถเข้าถึงเว็บไซต์ของเราได้ในพื้นที่ของท่าน โปรดใช้เว็บไซต์สำรอง",
    ),
    ("mirror_label", "เว็บไซต์สำรอง (หากเว็บไซต์ถูกปิดกั้น)"),
    ("receive", "ท่านได้รับข่าวประชาสัมพันธ์นี้ในฐานะผู้สื่อข่าว"),
    (
        "receive_at",
        "ท่านได้รับข่าวประชาสัมพันธ์นี้ในฐานะผู้สื่อข่าวของ {outlet}",
    ),
    (
        "unsubscribe",
        "หากท่านไม่ประสงค์จะรับข่าวประชาสัมพันธ์จากเราอีก โปรดตอบกลับอีเมลนี้",
    ),
];

const ID: Table = &[
    ("embargo", "EMBARGO HINGGA {until}"),
    ("kind", "Siaran pers"),
    ("press_contact", "Kontak media"),
    ("email", "Email"),
    ("phone", "Telepon"),
    ("website", "Situs web"),
    (
        "mirror",
        "Jika situs web kami diblokir di tempat Anda, gunakan situs cermin",
    ),
    ("mirror_label", "Situs cermin (jika situs web diblokir)"),
    ("receive", "Anda menerima siaran pers ini sebagai jurnalis."),
    (
        "receive_at",
        "Anda menerima siaran pers ini sebagai jurnalis {outlet}.",
    ),
    (
        "unsubscribe",
        "Balas email ini jika Anda tidak ingin lagi menerima siaran pers kami.",
    ),
];

const SW: Table = &[
    ("embargo", "ISICHAPISHWE KABLA YA {until}"),
    ("kind", "Taarifa kwa vyombo vya habari"),
    ("press_contact", "Mawasiliano kwa wanahabari"),
    ("email", "Barua pepe"),
    ("phone", "Simu"),
    ("website", "Tovuti"),
    (
        "mirror",
        "Ikiwa tovuti yetu imezuiwa mahali ulipo, tumia tovuti mbadala",
    ),
    ("mirror_label", "Tovuti mbadala (ikiwa tovuti imezuiwa)"),
    (
        "receive",
        "Unapokea taarifa hii kwa kuwa wewe ni mwanahabari.",
    ),
    (
        "receive_at",
        "Unapokea taarifa hii kwa kuwa wewe ni mwanahabari wa {outlet}.",
    ),
    (
        "unsubscribe",
        "Ikiwa hungependa kupokea taarifa zetu tena, jibu barua pepe hii.",
    ),
];

/// The primary subtag of a BCP 47 tag, lower-case as presswire keeps tags.
fn primary(lang: &str) -> &str {
    lang.split('-').next().unwrap_or(lang)
}

/// The built-in table for `lang`, if presswire has one.
fn table(lang: &str) -> Option<Table> {
    let primary = primary(lang);
    BUILT_IN
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(primary))
        .map(|(_, t)| *t)
}

/// Whether presswire has built-in wording for `lang` (else it is English).
pub fn has_built_in(lang: &str) -> bool {
    table(lang).is_some()
}

/// The languages with built-in wording.
pub fn languages() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(l, _)| *l)
}

/// The key names, for messages: "embargo, kind, …".
pub fn key_list() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// What is wrong with one value under `[strings]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadString {
    /// The key as written in the file.
    pub key: String,
    pub what: String,
}

/// The wording of one release file: the built-in table of its language
/// with its `[strings]` over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strings {
    /// In the order of [`KEYS`].
    texts: Vec<String>,
    colon: &'static str,
    space: &'static str,
}

impl Strings {
    /// The built-in wording for `lang` (English for a language without a
    /// table of its own).
    pub fn built_in(lang: &str) -> Strings {
        let table = table(lang).unwrap_or(EN);
        let texts = KEYS
            .iter()
            .map(|k| {
                let text = table.iter().find(|(n, _)| *n == k.name).or_else(|| {
                    // Unreachable for the tables above (a unit test checks
                    // every key is in every table); English as the fallback.
                    EN.iter().find(|(n, _)| *n == k.name)
                });
                text.map(|(_, t)| t.to_string()).unwrap_or_default()
            })
            .collect();
        let (colon, space) = punctuation(lang);
        Strings {
            texts,
            colon,
            space,
        }
    }

    /// The built-in wording for `lang` with `overrides` (a release's
    /// `[strings]`) over it; the first bad key or value is the error.
    pub fn resolve(lang: &str, overrides: &toml::Table) -> Result<Strings, BadString> {
        let mut strings = Strings::built_in(lang);
        for (name, value) in overrides {
            let bad = |what: String| BadString {
                key: name.clone(),
                what,
            };
            let Some(i) = KEYS.iter().position(|k| k.name == name) else {
                return Err(bad(format!(
                    "`[strings]` has no key `{name}`; the keys are {} (take it out, or correct its name)",
                    key_list()
                )));
            };
            let key = &KEYS[i];
            let Some(text) = value.as_str() else {
                return Err(bad(format!(
                    "`strings.{name}` is {} {}; give the wording as text in quotes, e.g. {name} = {:?}",
                    article(value.type_str()),
                    value.type_str(),
                    strings.texts[i]
                )));
            };
            check_text(key, text, &strings.texts[i]).map_err(bad)?;
            strings.texts[i] = text.to_string();
        }
        Ok(strings)
    }

    /// The wording of `key`, as set (placeholders included).
    pub fn get(&self, key: &str) -> &str {
        KEYS.iter()
            .position(|k| k.name == key)
            .map(|i| self.texts[i].as_str())
            .unwrap_or_default()
    }

    /// The embargo banner with its time filled in: "EMBARGOED UNTIL 10 May
    /// 2026, 09:00 EAT".
    pub fn embargo(&self, until: &str) -> String {
        self.get("embargo").replacen("{until}", until, 1)
    }

    /// The embargo wording without its time ("EMBARGOED UNTIL"), for a
    /// layout that places the time itself and to recognise it in a subject.
    pub fn embargo_label(&self) -> String {
        self.get("embargo")
            .replacen("{until}", "", 1)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What the layouts see as `release.strings`: each key's text; a key
    /// with a placeholder as `before` and `after` it (the layout prints the
    /// contact's value between them, so the render cache keeps it a slot);
    /// and the language's `colon` and `space`.
    ///
    /// A text that HTML escaping leaves as it is (most wording) is marked
    /// safe, which for it is true: it is then part of the layout's shape
    /// in the render cache rather than a slot (a slot may not begin or end
    /// with a space, as "…as a journalist at " does). Wording with `<`,
    /// `&`, quotes or `/` stays a string, escaped in HTML when printed.
    pub fn context(&self) -> BTreeMap<&'static str, Value> {
        let mut map: BTreeMap<&'static str, Value> = KEYS
            .iter()
            .zip(&self.texts)
            .map(|(k, t)| {
                let value = match k.placeholder {
                    Some(p) => {
                        let (before, after) = t.split_once(p).unwrap_or((t, ""));
                        Value::from_iter([("before", text(before)), ("after", text(after))])
                    }
                    None => text(t),
                };
                (k.name, value)
            })
            .collect();
        map.insert("colon", text(self.colon));
        map.insert("space", text(self.space));
        map
    }
}

/// `t` as a template value: safe when escaping for HTML would not change
/// it (minijinja escapes `<>&"'` and `/`).
fn text(t: &str) -> Value {
    if t.contains(['<', '>', '&', '"', '\'', '/']) {
        Value::from(t)
    } else {
        Value::from_safe_string(t.to_string())
    }
}

/// The colon after a label and the space between a label and its value or
/// between sentences: French sets a no-break space before the colon;
/// Chinese and Japanese use the full-width colon and no spaces.
fn punctuation(lang: &str) -> (&'static str, &'static str) {
    match primary(lang) {
        "fr" => ("\u{a0}:", " "),
        "zh" | "ja" => ("：", ""),
        _ => (":", " "),
    }
}

fn article(type_str: &str) -> &'static str {
    if type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Checks one override of `key`: one line, not empty, its placeholder once,
/// no other placeholder and no template code (the wording is shown as
/// written, never run).
fn check_text(key: &Key, text: &str, built_in: &str) -> Result<(), String> {
    let name = key.name;
    if text.trim().is_empty() {
        return Err(format!(
            "`strings.{name}` is empty; give the wording, or take the line out to use the built-in {built_in:?}"
        ));
    }
    if text.contains(['\r', '\n']) {
        return Err(format!(
            "`strings.{name}` contains a line break; keep the wording on one line"
        ));
    }
    if text.contains("{{") || text.contains("{%") {
        return Err(format!(
            "`strings.{name}` contains template code; the wording is shown as written, and the only placeholder is {}",
            key.placeholder.unwrap_or("none")
        ));
    }
    for found in placeholders(text) {
        if Some(found) != key.placeholder {
            let takes = match key.placeholder {
                Some(p) => format!("the only placeholder of `strings.{name}` is {p}"),
                None => format!("`strings.{name}` takes no placeholder"),
            };
            return Err(format!(
                "`strings.{name}` has the placeholder {found}, which presswire does not fill; {takes}"
            ));
        }
    }
    if let Some(p) = key.placeholder {
        let n = text.matches(p).count();
        if n != 1 {
            let what = if n == 0 { "lacks" } else { "repeats" };
            return Err(format!(
                "`strings.{name}` {what} the placeholder {p}; put it once where it goes, e.g. {name} = {built_in:?}"
            ));
        }
    }
    Ok(())
}

/// The `{word}` placeholders in `text` (letters and `_` between braces).
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(|(start, _)| {
        let rest = &text[start + 1..];
        let end = rest.find('}')?;
        let word = &rest[..end];
        (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| &text[start..start + end + 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_once_with_its_placeholder() {
        for (lang, table) in BUILT_IN {
            for (name, _) in table.iter() {
                assert!(
                    KEYS.iter().any(|k| k.name == *name),
                    "{lang}: {name} is not a key"
                );
            }
            for key in KEYS {
                let texts: Vec<_> = table.iter().filter(|(n, _)| *n == key.name).collect();
                assert_eq!(
                    texts.len(),
                    1,
                    "{lang}: {} set {} times",
                    key.name,
                    texts.len()
                );
                let text = texts[0].1;
                // The built-in wording passes the checks an override does.
                assert_eq!(
                    check_text(key, text, text),
                    Ok(()),
                    "{lang}: {}: {text:?}",
                    key.name
                );
                assert_eq!(text.trim(), text, "{lang}: {}", key.name);
            }
        }
    }

    #[test]
    fn the_languages_of_the_issue_have_tables_of_their_own() {
        for lang in [
            "en", "de", "fr", "es", "pt", "ar", "ru", "zh", "my", "th", "id", "sw",
        ] {
            assert!(has_built_in(lang), "{lang}");
            if lang != "en" {
                assert_ne!(Strings::built_in(lang), Strings::built_in("en"), "{lang}");
            }
        }
        assert!(has_built_in("pt-BR"));
        assert!(!has_built_in("xh"));
        assert_eq!(Strings::built_in("xh"), Strings::built_in("en"));
    }

    #[test]
    fn overrides_replace_the_built_in_wording() {
        let over: toml::Table = toml::from_str(
            "press_contact = \"Media & <enquiries>\"\nembargo = \"Hold until {until}\"",
        )
        .unwrap();
        let s = Strings::resolve("de", &over).unwrap();
        assert_eq!(s.get("press_contact"), "Media & <enquiries>");
        assert_eq!(s.get("phone"), "Telefon");
        assert_eq!(s.embargo("1. Mai"), "Hold until 1. Mai");
        assert_eq!(s.embargo_label(), "Hold until");
        assert_eq!(Strings::built_in("my").embargo_label(), "မတိုင်မီ သတင်းမဖော်ပြရ");
        let ctx = s.context();
        let around = &ctx["receive_at"];
        assert_eq!(
            around.get_attr("before").unwrap().as_str(),
            Some("Sie erhalten diese Pressemitteilung als Journalist*in bei ")
        );
        assert_eq!(around.get_attr("after").unwrap().as_str(), Some("."));
        assert_eq!(ctx["colon"].as_str(), Some(":"));
        assert!(ctx["space"].is_safe());
        // Wording that needs escaping is not marked safe.
        assert!(!ctx["press_contact"].is_safe());
        assert!(ctx["phone"].is_safe());
    }

    #[test]
    fn bad_overrides_say_what_to_do() {
        let bad = |toml_text: &str| {
            let t: toml::Table = toml::from_str(toml_text).unwrap();
            Strings::resolve("en", &t).unwrap_err()
        };
        let e = bad("press_contakt = \"x\"");
        assert_eq!(e.key, "press_contakt");
        assert!(e.what.contains("no key `press_contakt`"), "{}", e.what);
        assert!(e.what.contains(&key_list()), "{}", e.what);
        let e = bad("phone = 5");
        assert!(
            e.what.contains(
                "is an integer; give the wording as text in quotes, e.g. phone = \"Phone\""
            ),
            "{}",
            e.what
        );
        assert!(bad("phone = \" \"").what.contains("is empty"));
        assert!(bad("phone = \"a\\nb\"").what.contains("line break"));
        assert!(bad("receive_at = \"At {{ contact.outlet }}\"")
            .what
            .contains("template code"));
        assert!(bad("receive_at = \"At the desk\"")
            .what
            .contains("lacks the placeholder {outlet}"));
        assert!(bad("receive_at = \"{outlet} {outlet}\"")
            .what
            .contains("repeats"));
        assert!(bad("receive = \"At {outlet}\"")
            .what
            .contains("takes no placeholder"));
        assert!(bad("embargo = \"Until {when}\"")
            .what
            .contains("the only placeholder of `strings.embargo` is {until}"));
        // Braces that are not a placeholder are wording.
        let t: toml::Table = toml::from_str("kind = \"Statement {draft 2}\"").unwrap();
        assert!(Strings::resolve("en", &t).is_ok());
    }
}
