using System.Text.Json;
using Sovereign.Agents.Tools.Calculator;

namespace Sovereign.Agents.Tests.Tools;

public class CalculatorTests
{
    [Theory]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("10 - 4 - 3", 3)]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("-2 ^ 2", -4)]
    [InlineData("(-2) ^ 2", 4)]
    [InlineData("--3", 3)]
    [InlineData("2 * -3", -6)]
    [InlineData("7 % 4", 3)]
    [InlineData("1.5e2 + .5", 150.5)]
    [InlineData("sqrt(16) + pow(2, 10)", 1028)]
    [InlineData("min(3, 1, 2) + max(4, 9, 5)", 10)]
    [InlineData("abs(-2.5) * 2", 5)]
    [InlineData("round(2.345, 2)", 2.35)]
    [InlineData("floor(-1.5) + ceil(1.2)", 0)]
    [InlineData("2 * pi", 2 * Math.PI)]
    [InlineData("  ( ( 4 ) )  ", 4)]
    public void Evaluates_with_precedence_parentheses_unary_minus_and_functions(string expression, double expected) =>
        Assert.Equal(expected, ExpressionParser.Evaluate(expression), 9);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("1 +", "ends where a number was expected")]
    [InlineData("(1 + 2", "missing ')'")]
    [InlineData("1 + 2)", "unexpected ')' at position 6")]
    [InlineData("1 / 0", "Division by zero at position 3")]
    [InlineData("5 % (2 - 2)", "Remainder of a division by zero")]
    [InlineData("sqrt(-1)", "sqrt of a negative number")]
    [InlineData("pow(2)", "pow takes 2 arguments, got 1")]
    [InlineData("foo(1)", "unknown name 'foo'")]
    [InlineData("2 3", "expected an operator after 2")]
    [InlineData("1 $ 2", "unexpected '$'")]
    [InlineData("10 ^ 400", "too large")]
    [InlineData("System.IO.File.Delete(\"x\")", "unknown name 'System'")]
    [InlineData("1..2", "'1..2' is not a number")]
    public void Refuses_bad_input_saying_what_and_where(string expression, string expected)
    {
        var e = Assert.Throws<CalculatorException>(() => ExpressionParser.Evaluate(expression));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Refuses_nesting_deeper_than_the_limit_instead_of_exhausting_the_stack()
    {
        var deep = new string('(', 10_000) + "1" + new string(')', 10_000);
        Assert.Throws<CalculatorException>(() => ExpressionParser.Evaluate(deep[..ExpressionParser.MaxLength]));
        var nested = new string('(', ExpressionParser.MaxDepth + 1) + "1" + new string(')', ExpressionParser.MaxDepth + 1);
        Assert.Contains("nests deeper", Assert.Throws<CalculatorException>(() => ExpressionParser.Evaluate(nested)).Message, StringComparison.Ordinal);
        Assert.Equal(1, ExpressionParser.Evaluate(new string('(', 20) + "1" + new string(')', 20)));
    }

    [Fact]
    public async Task The_tool_answers_the_value_or_an_error_result_for_the_model()
    {
        var tool = new CalculatorTool();
        using var good = JsonDocument.Parse("""{"expression": "(2 + 3) * sqrt(16)"}""");
        var result = await tool.InvokeAsync(good.RootElement, default);
        Assert.Equal("20", result.Content);
        Assert.False(result.IsError);

        using var bad = JsonDocument.Parse("""{"expression": "2 +* 3"}""");
        var error = await tool.InvokeAsync(bad.RootElement, default);
        Assert.True(error.IsError);
        Assert.Contains("position", error.Content, StringComparison.Ordinal);

        using var missing = JsonDocument.Parse("""{"expr": "1"}""");
        Assert.Contains("'expression' is required", (await tool.InvokeAsync(missing.RootElement, default)).Content, StringComparison.Ordinal);
    }
}
