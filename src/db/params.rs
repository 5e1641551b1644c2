//! Binding values to SQL whose shape depends on the input (audience
//! filters, multi-row inserts, `bounces list` filters): the placeholders
//! and the values that go with them, for sqlx's `Any` driver.

/// One value bound to a `$n` placeholder. `Any` binds only a few types;
/// these are the ones presswire stores.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Bind {
    fn from(v: &str) -> Bind {
        Bind::Text(Some(v.to_string()))
    }
}
impl From<String> for Bind {
    fn from(v: String) -> Bind {
        Bind::Text(Some(v))
    }
}
impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Bind {
        Bind::Text(v)
    }
}
impl From<i64> for Bind {
    fn from(v: i64) -> Bind {
        Bind::Int(Some(v))
    }
}
impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Bind {
        Bind::Int(v)
    }
}

/// Builds SQL with numbered `$n` placeholders (which both backends accept)
/// and the values that go with them, for queries whose shape depends on the
/// input: audience filters, multi-row inserts.
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<Bind>,
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds a value and returns its placeholder, e.g. `$3`.
    pub fn push(&mut self, value: impl Into<Bind>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// How many values are bound so far.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is bound yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A `query_as` of `sql` with every value bound.
    pub fn query_as<'q, O>(
        self,
        sql: &'q str,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as(sql);
        for v in self.values {
            q = match v {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q
    }

    /// A `query` of `sql` with every value bound.
    pub fn query<'q>(
        self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for v in self.values {
            q = match v {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q
    }
}
