using System.Globalization;

namespace Sovereign.Agents.Tools.Calculator;

/// <summary>
/// Evaluates arithmetic expressions by parsing them (recursive descent), never by compiling or running code: the only
/// things an expression can do are the operators and functions listed here. Stateless and thread-safe.
/// </summary>
/// <remarks>
/// Grammar, loosest binding first:
/// <code>
/// expression := term (('+' | '-') term)*
/// term       := unary (('*' | '/' | '%') unary)*
/// unary      := ('-' | '+') unary | power
/// power      := primary ('^' unary)?          (right-associative, binds tighter than unary minus: -2^2 = -4)
/// primary    := number | constant | function '(' expression (',' expression)* ')' | '(' expression ')'
/// </code>
/// </remarks>
public static class ExpressionParser
{
    /// <summary>Longest expression accepted, so a model cannot make the platform chew on megabytes.</summary>
    public const int MaxLength = 2_000;

    /// <summary>Deepest nesting of parentheses and unary operators, so no input can exhaust the stack.</summary>
    public const int MaxDepth = 64;

    private static readonly Dictionary<string, double> Constants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pi"] = Math.PI,
        ["e"] = Math.E,
    };

    private static readonly Dictionary<string, (int Min, int Max, Func<double[], double> Apply)> Functions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sqrt"] = (1, 1, a => a[0] < 0 ? throw new CalculatorException($"sqrt of a negative number ({Format(a[0])}).") : Math.Sqrt(a[0])),
        ["pow"] = (2, 2, a => Math.Pow(a[0], a[1])),
        ["min"] = (1, int.MaxValue, a => a.Min()),
        ["max"] = (1, int.MaxValue, a => a.Max()),
        ["abs"] = (1, 1, a => Math.Abs(a[0])),
        ["round"] = (1, 2, a => a.Length == 1 ? Math.Round(a[0], MidpointRounding.AwayFromZero) : Math.Round(a[0], Digits(a[1]), MidpointRounding.AwayFromZero)),
        ["floor"] = (1, 1, a => Math.Floor(a[0])),
        ["ceil"] = (1, 1, a => Math.Ceiling(a[0])),
        ["exp"] = (1, 1, a => Math.Exp(a[0])),
        ["ln"] = (1, 1, a => a[0] <= 0 ? throw new CalculatorException($"ln of a number that is not positive ({Format(a[0])}).") : Math.Log(a[0])),
        ["log10"] = (1, 1, a => a[0] <= 0 ? throw new CalculatorException($"log10 of a number that is not positive ({Format(a[0])}).") : Math.Log10(a[0])),
        ["sin"] = (1, 1, a => Math.Sin(a[0])),
        ["cos"] = (1, 1, a => Math.Cos(a[0])),
        ["tan"] = (1, 1, a => Math.Tan(a[0])),
    };

    /// <summary>The function names an expression may call, for the tool's description.</summary>
    public static IEnumerable<string> FunctionNames => Functions.Keys.Order(StringComparer.Ordinal);

    /// <summary>The value of <paramref name="expression"/>; throws <see cref="CalculatorException"/> saying what is wrong and where.</summary>
    public static double Evaluate(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        if (string.IsNullOrWhiteSpace(expression)) throw new CalculatorException("The expression is empty.");
        if (expression.Length > MaxLength) throw new CalculatorException($"The expression is {expression.Length} characters long; at most {MaxLength} are accepted.");
        var parser = new Parser(expression);
        var value = parser.ParseExpression();
        parser.SkipSpaces();
        if (!parser.AtEnd) throw parser.Error($"unexpected '{parser.Current}'");
        if (double.IsNaN(value)) throw new CalculatorException("The result is not a number.");
        if (double.IsInfinity(value)) throw new CalculatorException("The result is too large to represent.");
        return value;
    }

    /// <summary>Shortest round-trippable invariant form (no exponent for ordinary magnitudes).</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static int Digits(double value) =>
        value is >= 0 and <= 15 && value == Math.Floor(value) ? (int)value : throw new CalculatorException($"round's second argument must be a whole number from 0 to 15, got {Format(value)}.");

    private sealed class Parser(string text)
    {
        private int _position;
        private int _depth;

        public bool AtEnd => _position >= text.Length;
        public char Current => text[_position];

        public CalculatorException Error(string what) => new($"{char.ToUpperInvariant(what[0])}{what[1..]} at position {_position + 1}.");

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(Current)) _position++;
        }

        private bool Accept(char c)
        {
            SkipSpaces();
            if (AtEnd || Current != c) return false;
            _position++;
            return true;
        }

        public double ParseExpression()
        {
            var value = ParseTerm();
            while (true)
            {
                if (Accept('+')) value += ParseTerm();
                else if (Accept('-')) value -= ParseTerm();
                else return value;
            }
        }

        private double ParseTerm()
        {
            var value = ParseUnary();
            while (true)
            {
                SkipSpaces();
                var at = _position;
                if (Accept('*')) value *= ParseUnary();
                else if (Accept('/'))
                {
                    var divisor = ParseUnary();
                    if (divisor == 0) throw new CalculatorException($"Division by zero at position {at + 1}.");
                    value /= divisor;
                }
                else if (Accept('%'))
                {
                    var divisor = ParseUnary();
                    if (divisor == 0) throw new CalculatorException($"Remainder of a division by zero at position {at + 1}.");
                    value %= divisor;
                }
                else return value;
            }
        }

        private double ParseUnary()
        {
            Enter();
            try
            {
                if (Accept('-')) return -ParseUnary();
                if (Accept('+')) return ParseUnary();
                return ParsePower();
            }
            finally
            {
                _depth--;
            }
        }

        private double ParsePower()
        {
            var value = ParsePrimary();
            return Accept('^') ? Math.Pow(value, ParseUnary()) : value;
        }

        private double ParsePrimary()
        {
            SkipSpaces();
            if (AtEnd) throw Error("the expression ends where a number was expected");
            if (Accept('('))
            {
                var inner = ParseExpression();
                if (!Accept(')')) throw AtEnd ? Error("missing ')'") : Error($"expected ')' but found '{Current}'");
                return inner;
            }
            if (char.IsAsciiDigit(Current) || Current == '.') return ParseNumber();
            if (char.IsAsciiLetter(Current)) return ParseName();
            throw Error($"unexpected '{Current}'");
        }

        private double ParseNumber()
        {
            var start = _position;
            while (!AtEnd && (char.IsAsciiDigit(Current) || Current == '.')) _position++;
            if (!AtEnd && (Current == 'e' || Current == 'E'))
            {
                var mark = _position++;
                if (!AtEnd && (Current == '+' || Current == '-')) _position++;
                if (AtEnd || !char.IsAsciiDigit(Current)) _position = mark; // "2e" is 2 followed by the constant e: refused below
                while (!AtEnd && char.IsAsciiDigit(Current)) _position++;
            }
            var literal = text[start.._position];
            if (!double.TryParse(literal, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value))
            {
                _position = start;
                throw Error($"'{literal}' is not a number");
            }
            SkipSpaces();
            if (!AtEnd && (char.IsAsciiLetterOrDigit(Current) || Current == '(' || Current == '.')) throw Error($"expected an operator after {literal} but found '{Current}'");
            return value;
        }

        private double ParseName()
        {
            var start = _position;
            while (!AtEnd && (char.IsAsciiLetterOrDigit(Current) || Current == '_')) _position++;
            var name = text[start.._position];
            if (Functions.TryGetValue(name, out var function))
            {
                if (!Accept('(')) throw Error($"expected '(' after the function {name}");
                var arguments = new List<double> { ParseExpression() };
                while (Accept(',')) arguments.Add(ParseExpression());
                if (!Accept(')')) throw AtEnd ? Error($"missing ')' after the arguments of {name}") : Error($"expected ',' or ')' but found '{Current}'");
                if (arguments.Count < function.Min || arguments.Count > function.Max)
                {
                    var expected = function.Min == function.Max ? $"{function.Min}" : function.Max == int.MaxValue ? $"at least {function.Min}" : $"{function.Min} or {function.Max}";
                    throw new CalculatorException($"{name} takes {expected} argument{(function.Max == 1 ? "" : "s")}, got {arguments.Count}.");
                }
                return function.Apply([.. arguments]);
            }
            if (Constants.TryGetValue(name, out var constant)) return constant;
            _position = start;
            throw Error($"unknown name '{name}' (functions: {string.Join(", ", FunctionNames)}; constants: pi, e)");
        }

        private void Enter()
        {
            if (++_depth > MaxDepth) throw Error($"the expression nests deeper than {MaxDepth} levels");
        }
    }
}

/// <summary>An expression the calculator cannot evaluate; the message says what and where, for the model to correct.</summary>
public sealed class CalculatorException(string message) : Exception(message);
