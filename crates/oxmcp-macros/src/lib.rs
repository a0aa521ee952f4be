//! Attribute macros for [oxmcp](https://docs.rs/oxmcp); use them through oxmcp's `macros`
//! feature (`oxmcp::server::debug_handler`), not from this crate directly.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Token, Type};

/// Checks a handler one piece at a time, so that a handler that does not compile gets an
/// error that points at the argument or return type at fault.
///
/// An `async fn` that is not a handler gets one error at the place it is registered
/// (`.tool("name", f)`), about the whole function: rustc cannot tell which part is wrong.
/// With `#[debug_handler]` on the function, each part is checked on its own:
///
/// - each argument is an extractor (`FromRequest<S>`), the error on that argument; for
///   `Args<T>`, that `T` is `serde::Deserialize` and `JsonSchema` of the schemars that
///   oxmcp uses (`oxmcp::schemars`), the error on `T`;
/// - the future is `Send`, the error naming the value held across an `.await`;
/// - the return type converts into a tool result (`IntoToolResult`), or with
///   `#[debug_handler(prompt)]` a prompt result, with `#[debug_handler(resource)]` resource
///   contents.
///
/// The state `S` is the `T` of a `State<T>` argument, else `()`; name it with
/// `#[debug_handler(state = AppState)]` when custom extractors need it. Options combine:
/// `#[debug_handler(prompt, state = AppState)]`.
///
/// The function itself is left as it is; the checks are items beside it that compile to
/// nothing. It works on free `async fn`s without generic parameters. Keep it while you
/// write a handler, or leave it on: it costs nothing at run time.
///
/// ```
/// use oxmcp::schemars::{self, JsonSchema};
/// use oxmcp::server::{debug_handler, Args, Context, Router, State};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct AddArgs { a: i64, b: i64 }
///
/// #[derive(Clone)]
/// struct Offset(i64);
///
/// #[debug_handler]
/// async fn add(State(offset): State<Offset>, Args(args): Args<AddArgs>, ctx: Context) -> String {
///     if ctx.is_cancelled() { return "cancelled".into(); }
///     (offset.0 + args.a + args.b).to_string()
/// }
///
/// #[debug_handler(prompt)]
/// async fn greet() -> &'static str {
///     "Say hello."
/// }
///
/// let router: Router = Router::new()
///     .tool("add", add)
///     .prompt("greet", greet)
///     .with_state(Offset(0));
/// # let _ = router;
/// ```
#[proc_macro_attribute]
pub fn debug_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = syn::parse_macro_input!(item as ItemFn);
    // On a mistake in the options the function is still emitted, so that the only error
    // is the one about the options.
    let checks = syn::parse::<Options>(attr)
        .and_then(|options| checks(&options, &function))
        .unwrap_or_else(syn::Error::into_compile_error);
    quote!(#function #checks).into()
}

/// What a handler's output must convert into.
#[derive(Clone, Copy)]
enum Kind {
    Tool,
    Prompt,
    Resource,
}

struct Options {
    kind: Kind,
    state: Option<Type>,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options {
            kind: Kind::Tool,
            state: None,
        };
        while !input.is_empty() {
            let name: syn::Ident = input.parse()?;
            match name.to_string().as_str() {
                "tool" => options.kind = Kind::Tool,
                "prompt" => options.kind = Kind::Prompt,
                "resource" => options.kind = Kind::Resource,
                "state" => {
                    input.parse::<Token![=]>()?;
                    options.state = Some(input.parse()?);
                }
                _ => {
                    return Err(syn::Error::new(
                        name.span(),
                        "expected `tool`, `prompt`, `resource` or `state = Type`",
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}

fn checks(options: &Options, function: &ItemFn) -> syn::Result<TokenStream2> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "`#[debug_handler]` checks an `async fn`: a handler is an async function",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "`#[debug_handler]` checks handlers without generic parameters",
        ));
    }
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new(
                    receiver.span(),
                    "`#[debug_handler]` checks free functions: a handler takes no `self`",
                ))
            }
            FnArg::Typed(typed) => types.push(&*typed.ty),
        }
    }
    let state = options
        .state
        .clone()
        .or_else(|| types.iter().find_map(|ty| wrapped(ty, "State")).cloned())
        .unwrap_or_else(|| syn::parse_quote!(()));

    let mut items = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        let check = format_ident!("__oxmcp_argument_{}", i);
        items.push(match wrapped(ty, "Args") {
            // `Args<T>` is an extractor whatever `T`; what can be wrong is `T`.
            Some(inner) => quote_spanned! {inner.span()=>
                fn #check() {
                    fn decodes_arguments<T>()
                    where
                        T: ::oxmcp::serde::de::DeserializeOwned + ::core::marker::Send,
                    {
                    }
                    fn has_schema<T: ::oxmcp::schemars::JsonSchema>() {}
                    decodes_arguments::<#inner>();
                    has_schema::<#inner>();
                }
            },
            None => quote_spanned! {ty.span()=>
                fn #check() {
                    fn extractor<T: ::oxmcp::server::FromRequest<S>, S>() {}
                    extractor::<#ty, #state>();
                }
            },
        });
    }

    let name = &sig.ident;
    let values: Vec<_> = (0..types.len())
        .map(|i| format_ident!("__oxmcp_value_{}", i))
        .collect();
    items.push(quote_spanned! {name.span()=>
        fn __oxmcp_future(#(#values: #types),*) {
            fn future_is_send<F: ::core::future::Future + ::core::marker::Send>(_: F) {}
            future_is_send(#name(#(#values),*));
        }
    });

    let (output, span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let convert = match options.kind {
        Kind::Tool => quote!(::oxmcp::server::IntoToolResult),
        Kind::Prompt => quote!(::oxmcp::server::IntoPromptResult),
        Kind::Resource => quote!(::oxmcp::server::IntoResourceContents),
    };
    items.push(quote_spanned! {span=>
        fn __oxmcp_output() {
            fn converts<T: #convert>() {}
            converts::<#output>();
        }
    });

    Ok(quote_spanned! {Span::call_site()=>
        #[allow(warnings, clippy::all, clippy::pedantic)]
        const _: () = {
            #(#items)*
        };
    })
}

/// The `T` of `Wrapper<T>` when `ty` is a path whose last segment is `wrapper`.
fn wrapped<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
