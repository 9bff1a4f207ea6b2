using System.Text.Json;

namespace Sovereign.Agents.Tools.Calculator;

/// <summary>The built-in calculator: one arithmetic expression in, its value out, through <see cref="ExpressionParser"/>. Thread-safe.</summary>
public sealed class CalculatorTool : IAgentTool, IGrammarTool
{
    public const string ToolName = "calculator";

    public string Name => ToolName;

    public string Description =>
        $"Evaluates an arithmetic expression exactly: + - * / % ^, parentheses, unary minus, the constants pi and e, and the functions {string.Join(", ", ExpressionParser.FunctionNames)}.";

    public JsonElement ParametersSchema { get; } = ToolArguments.Schema("""
        {
          "type": "object",
          "properties": {
            "expression": { "type": "string", "description": "For example (2 + 3) * sqrt(16)", "minLength": 1, "maxLength": 200 }
          },
          "required": ["expression"],
          "additionalProperties": false
        }
        """);

    /// <summary>
    /// Forced calls write a well-formed expression (numbers, operators, one level of parentheses, sqrt), so even a model
    /// that knows no arithmetic produces something the calculator evaluates. No zero can be a divisor: numbers start 1-9.
    /// </summary>
    public string ArgumentsGrammar => """
        root ::= "{\"expression\": \"" expr "\"}"
        expr ::= term ( op term ){0,3}
        term ::= num | "(" num op num ")" | "sqrt(" num ")"
        num ::= [1-9] [0-9]{0,2}
        op ::= " + " | " - " | " * " | " / "
        """;

    public Task<ToolResult> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        try
        {
            var expression = ToolArguments.RequiredString(arguments, "expression");
            return Task.FromResult(new ToolResult(ExpressionParser.Format(ExpressionParser.Evaluate(expression))));
        }
        catch (Exception e) when (e is CalculatorException or ToolArgumentException)
        {
            return Task.FromResult(ToolResult.Error(e.Message));
        }
    }
}
