using System.Runtime.InteropServices;
using LLama.Native;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Engine;

/// <summary>
/// llama.cpp's grammar sampler, reached directly. LLamaSharp 0.30.0's <c>AddGrammar</c> adds whatever
/// <c>llama_sampler_init_grammar</c> returns to the chain, and it returns null for a grammar it cannot parse (bad syntax,
/// an undefined rule, left recursion); a null sampler in a chain crashes the process at the next sample. So grammars are
/// created here, where null is seen and turned into a 400, and only a real sampler is added. Thread-safe (stateless
/// apart from the resolved entry points).
/// </summary>
internal static class NativeGrammar
{
    /// <summary>Longer grammars are refused before llama.cpp parses them (its parser recurses per nesting level).</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>Deeper nesting of parentheses is refused before llama.cpp parses it.</summary>
    public const int MaxNesting = 64;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GetVocab(IntPtr model);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr InitGrammar(IntPtr vocab, [MarshalAs(UnmanagedType.LPUTF8Str)] string grammar, [MarshalAs(UnmanagedType.LPUTF8Str)] string root);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void ChainAdd(IntPtr chain, IntPtr sampler);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SamplerFree(IntPtr sampler);

    private static readonly Lazy<(GetVocab GetVocab, InitGrammar Init, ChainAdd Add, SamplerFree Free)> Api = new(Resolve);

    private static (GetVocab, InitGrammar, ChainAdd, SamplerFree) Resolve()
    {
        // LLamaSharp registers a resolver for its own assembly that finds the native build it selected; loading "llama"
        // on behalf of that assembly returns the very library it already uses.
        NativeApi.llama_empty_call();
        var library = NativeLibrary.Load("llama", typeof(NativeApi).Assembly, null);
        T Get<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
        return (Get<GetVocab>("llama_model_get_vocab"), Get<InitGrammar>("llama_sampler_init_grammar"),
            Get<ChainAdd>("llama_sampler_chain_add"), Get<SamplerFree>("llama_sampler_free"));
    }

    /// <summary>
    /// Checks that llama.cpp accepts <paramref name="grammar"/> with start rule <paramref name="root"/> for this model.
    /// </summary>
    /// <exception cref="SovereignException">400 <c>invalid_grammar</c> naming what is wrong where it can.</exception>
    public static void Validate(SafeLlamaModelHandle model, string grammar, string root)
    {
        var sampler = Create(model, grammar, root);
        Api.Value.Free(sampler);
    }

    /// <summary>Adds the grammar to the end of <paramref name="chain"/>, which then owns it.</summary>
    public static void AddTo(SafeLLamaSamplerChainHandle chain, SafeLlamaModelHandle model, string grammar, string root)
    {
        var sampler = Create(model, grammar, root);
        Api.Value.Add(chain.DangerousGetHandle(), sampler);
    }

    private static IntPtr Create(SafeLlamaModelHandle model, string grammar, string root)
    {
        CheckShape(grammar, root);
        var api = Api.Value;
        var vocab = api.GetVocab(model.DangerousGetHandle());
        var sampler = api.Init(vocab, grammar, root);
        if (sampler == IntPtr.Zero)
        {
            throw SovereignException.Invalid(
                $"llama.cpp rejected the grammar: check its GBNF syntax, that every rule it uses is defined, that it defines the rule '{root}', and that no rule is left-recursive.",
                "grammar", "invalid_grammar");
        }
        return sampler;
    }

    /// <summary>The checks llama.cpp's parser would not survive (size, nesting), and an empty grammar.</summary>
    private static void CheckShape(string grammar, string root)
    {
        if (string.IsNullOrWhiteSpace(grammar))
            throw SovereignException.Invalid("The grammar is empty.", "grammar", "invalid_grammar");
        if (grammar.Length > MaxLength)
            throw SovereignException.Invalid($"The grammar is {grammar.Length} characters long; at most {MaxLength} are accepted.", "grammar", "invalid_grammar");
        if (grammar.Contains('\0'))
            throw SovereignException.Invalid("The grammar contains a NUL character.", "grammar", "invalid_grammar");
        if (string.IsNullOrWhiteSpace(root) || !root.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw SovereignException.Invalid($"The grammar root '{root}' is not a rule name (letters, digits and '-').", "grammar_root", "invalid_grammar");

        var depth = 0;
        var inString = false;
        var inClass = false;
        for (var i = 0; i < grammar.Length; i++)
        {
            var c = grammar[i];
            if (inString || inClass)
            {
                if (c == '\\') i++;
                else if (inString && c == '"') inString = false;
                else if (inClass && c == ']') inClass = false;
                continue;
            }
            switch (c)
            {
                case '"': inString = true; break;
                case '[': inClass = true; break;
                case '#':
                    while (i < grammar.Length && grammar[i] != '\n') i++;
                    break;
                case '(':
                    if (++depth > MaxNesting)
                        throw SovereignException.Invalid($"The grammar nests parentheses more than {MaxNesting} deep.", "grammar", "invalid_grammar");
                    break;
                case ')': depth--; break;
            }
        }
    }
}
