using System.Text;
using System.Text.Json;
using Sovereign.Agents.Tools;

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
/// one, else any JSON object (the tool then checks them and says what is wrong). Pure and thread-safe.
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
        var needsJson = false;
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            var args = $"args{i}";
            grammar.Append($"call{i} ::= {Literal($"{Open}{{\"name\": {JsonSerializer.Serialize(tool.Name)}, \"arguments\": ")} {args} {Literal($"}}{Close}")}\n");
            if (tool is IGrammarTool constrained) grammar.Append(constrained.ArgumentsGrammar(args)).Append('\n');
            else
            {
                grammar.Append($"{args} ::= json-object\n");
                needsJson = true;
            }
        }
        if (needsJson) grammar.Append(JsonRules);
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

    // Bounded JSON (llama.cpp's json.gbnf, with lengths capped so a forced call always closes within a step's tokens).
    private const string JsonRules = """
        json-object ::= "{" ws ( json-member ( "," ws json-member ){0,7} )? "}"
        json-member ::= json-string ":" ws json-value ws
        json-value ::= json-string | json-number | "true" | "false" | "null"
        json-string ::= "\"" [a-zA-Z0-9 .,:/_-]{0,40} "\""
        json-number ::= "-"? [0-9]{1,6} ( "." [0-9]{1,4} )?
        ws ::= " "?

        """;
}
