using System.Text;
using System.Text.Json;
using Sovereign.Agents.Tools;
using Sovereign.Core.Errors;
using Sovereign.Inference.Grammars;

namespace Sovereign.Agents.Model;

/// <summary>A tool whose arguments have a grammar tighter than its JSON Schema can say (the calculator's arithmetic).</summary>
public interface IGrammarTool
{
    /// <summary>GBNF rules whose rule <paramref name="rule"/> matches one complete arguments object.</summary>
    string ArgumentsGrammar(string rule);
}

/// <summary>
/// The llama.cpp GBNF grammar that forces a tool call in the <c>&lt;tool_call&gt;{"name": …, "arguments": …}&lt;/tool_call&gt;</c>
/// format: for one named tool, or any of the tools ("required"). Arguments follow the tool's own grammar when it has
/// one, else its JSON Schema compiled by <see cref="JsonSchemaGrammar"/>; a schema the compiler cannot honour (an MCP
/// tool's <c>pattern</c>, say) falls back to any JSON object, and the tool checks the arguments itself. Pure and thread-safe.
/// </summary>
public static class ToolCallGrammar
{
    public const string Open = "<tool_call>";
    public const string Close = "</tool_call>";

    public static string For(IReadOnlyList<IAgentTool> tools)
    {
        if (tools.Count == 0) throw new ArgumentException("A forced tool call needs at least one tool.", nameof(tools));
        var grammar = new StringBuilder();
        grammar.Append("root ::= ").AppendJoin(" | ", tools.Select((_, i) => $"call{i}")).Append('\n');
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            var args = $"args{i}";
            grammar.Append($"call{i} ::= {Literal($"{Open}{{\"name\": {JsonSerializer.Serialize(tool.Name)}, \"arguments\": ")} {args} {Literal($"}}{Close}")}\n");
            if (tool is IGrammarTool constrained) grammar.Append(constrained.ArgumentsGrammar(args)).Append('\n');
            else grammar.Append(Embed(SchemaGrammar(tool.ParametersSchema), args)).Append('\n');
        }
        return grammar.ToString();
    }

    /// <summary>A GBNF string literal for <paramref name="text"/>.</summary>
    public static string Literal(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }
        return builder.Append('"').ToString();
    }

    private static string SchemaGrammar(JsonElement schema)
    {
        try
        {
            return JsonSchemaGrammar.Compile(schema, "parameters");
        }
        catch (SovereignException)
        {
            return JsonSchemaGrammar.AnyObject;
        }
    }

    /// <summary>
    /// A complete grammar (start rule <c>root</c>) renamed so it can live beside others: every rule it defines gets the
    /// prefix <paramref name="rule"/>, and <c>root</c> becomes <paramref name="rule"/> itself. Literals and character
    /// classes are left alone.
    /// </summary>
    internal static string Embed(string grammar, string rule)
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in grammar.Split('\n'))
        {
            var at = line.IndexOf("::=", StringComparison.Ordinal);
            if (at > 0) defined.Add(line[..at].Trim());
        }
        string Rename(string name) => name == "root" ? rule : $"{rule}-{name}";

        var output = new StringBuilder(grammar.Length + defined.Count * 8);
        for (var i = 0; i < grammar.Length;)
        {
            var c = grammar[i];
            if (c is '"' or '[')
            {
                // A literal or class, escapes included, copied as it is.
                var end = c == '"' ? '"' : ']';
                var j = i + 1;
                while (j < grammar.Length && grammar[j] != end) j += grammar[j] == '\\' ? 2 : 1;
                j = Math.Min(j + 1, grammar.Length);
                output.Append(grammar, i, j - i);
                i = j;
            }
            else if (c == '#')
            {
                var j = grammar.IndexOf('\n', i);
                j = j < 0 ? grammar.Length : j;
                output.Append(grammar, i, j - i);
                i = j;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '-')
            {
                var j = i;
                while (j < grammar.Length && (char.IsAsciiLetterOrDigit(grammar[j]) || grammar[j] == '-')) j++;
                var word = grammar[i..j];
                output.Append(defined.Contains(word) ? Rename(word) : word);
                i = j;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }
        return output.ToString();
    }
}
