//! Macros shared by the builders (request builders, the configuration builder). A leaf module:
//! it imports nothing.

/// Builder setters, each one line of what it changes: `name(arg: Type) op => op.field = arg;`
/// becomes `pub fn name(mut self, arg: Type) -> Self`, with `op` bound to the builder's
/// operation (`self.op`); after `self;`, to the builder itself.
macro_rules! setters {
    (self; $($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) $op:ident => $body:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            let $op = &mut self;
            $body;
            self
        }
    )*};
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) $op:ident => $body:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            let $op = &mut self.op;
            $body;
            self
        }
    )*};
}
pub(crate) use setters;

/// Zero-sized marker types that pick an operation's variant (`GroupOp<AddChannels>`):
/// `markers! { /// doc \n Name; … }`.
macro_rules! markers {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name;
    )*};
}
pub(crate) use markers;
