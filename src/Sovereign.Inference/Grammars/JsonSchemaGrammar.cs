using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Sovereign.Core.Errors;

namespace Sovereign.Inference.Grammars;

/// <summary>
/// Compiles a JSON Schema into a llama.cpp GBNF grammar whose every complete output is compact JSON that validates
/// against the schema. Pure: no model, no I/O. Thread-safe (each compilation has its own state).
/// <para>
/// What it honours: <c>type</c> (one or an array), <c>properties</c> (emitted in the schema's order) with
/// <c>required</c>, <c>additionalProperties</c> (extra properties are never generated, so both true and false hold),
/// <c>items</c> with <c>minItems</c>/<c>maxItems</c>, <c>enum</c>, <c>const</c>, strings with
/// <c>minLength</c>/<c>maxLength</c>, integers with <c>minimum</c>/<c>maximum</c> (and the exclusive forms), numbers,
/// booleans, null, local <c>$ref</c> (<c>#/$defs/…</c>, <c>#/definitions/…</c>, <c>#</c>, recursion through named
/// rules), <c>anyOf</c>, <c>oneOf</c> whose branches cannot overlap, and <c>allOf</c> of one schema. Output is
/// stricter than the schema in harmless ways (no whitespace, fixed property order, integers of at most 16 digits).
/// </para>
/// <para>
/// Anything it cannot honour (<c>pattern</c>, <c>format</c>, bounds on non-integer numbers, <c>not</c>, …) is a 400
/// naming the JSON pointer of the part, never a weaker grammar.
/// </para>
/// </summary>
public sealed class JsonSchemaGrammar
{
    /// <summary>Most characters a string bound may name (llama.cpp refuses larger repetition counts).</summary>
    public const int MaxStringLength = 1000;

    /// <summary>Most items an array bound may name.</summary>
    public const int MaxArrayItems = 100;

    private const int MaxRules = 4000;
    private const int MaxDigits = 16;

    private static readonly string[] Annotations =
    [
        "$schema", "$id", "$comment", "$anchor", "title", "description", "default", "examples", "deprecated", "readOnly",
        "writeOnly", "$defs", "definitions", "strict", "name",
    ];

    private static readonly string[] Unsupported =
    [
        "pattern", "patternProperties", "format", "multipleOf", "not", "if", "then", "else", "dependentRequired",
        "dependentSchemas", "dependencies", "minProperties", "maxProperties", "contains", "minContains", "maxContains",
        "prefixItems", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
        "contentEncoding", "contentMediaType", "contentSchema",
    ];

    private JsonElement _document;
    private string _param;
    private string _namePrefix = "s";
    private readonly List<(string Name, string Body)> _rules = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refRules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _helpers = new(StringComparer.Ordinal);

    private JsonSchemaGrammar(JsonElement document, string param)
    {
        _document = document;
        _param = param;
    }

    /// <summary>A grammar for any JSON object (response_format json_object, Ollama's format "json").</summary>
    public static string AnyObject { get; } = BuildAnyObject();

    /// <summary>
    /// The grammar for <paramref name="schema"/>, start rule <c>root</c>.
    /// </summary>
    /// <param name="schema">The schema (a JSON object or a boolean).</param>
    /// <param name="param">The request field that held it, for error messages (e.g. <c>response_format.json_schema.schema</c>).</param>
    /// <exception cref="SovereignException">400 <c>unsupported_schema</c> naming the JSON pointer of the part that
    /// cannot be honoured, or <c>invalid_schema</c> for a schema that is not well formed.</exception>
    public static string Compile(JsonElement schema, string param = "schema")
    {
        var compiler = new JsonSchemaGrammar(schema, param);
        var root = compiler.Visit(schema, "");
        compiler._rules.Insert(0, ("root", root));
        var text = new StringBuilder();
        foreach (var (name, body) in compiler._rules)
            text.Append(name).Append(" ::= ").Append(body).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// One grammar for several schemas (the arguments of each tool a call may name), sharing helper rules. Each schema
    /// gets its own rule; <paramref name="rootBody"/> receives their names in order and returns the body of
    /// <c>root</c>, which may use any of them.
    /// </summary>
    /// <exception cref="SovereignException">As <see cref="Compile"/>, naming the schema's own param.</exception>
    public static string CompileMany(IReadOnlyList<(JsonElement Schema, string Param)> schemas, Func<IReadOnlyList<string>, string> rootBody)
    {
        ArgumentNullException.ThrowIfNull(schemas);
        ArgumentNullException.ThrowIfNull(rootBody);
        var compiler = new JsonSchemaGrammar(default, "schema");
        var names = new List<string>();
        for (var i = 0; i < schemas.Count; i++)
        {
            compiler._document = schemas[i].Schema;
            compiler._param = schemas[i].Param;
            compiler._namePrefix = "t" + i.ToString(CultureInfo.InvariantCulture);
            compiler._refRules.Clear();
            var expression = compiler.Visit(schemas[i].Schema, "");
            names.Add(compiler.Reserve(compiler._namePrefix + "-args", expression));
        }
        compiler._rules.Insert(0, ("root", rootBody(names)));
        var text = new StringBuilder();
        foreach (var (name, body) in compiler._rules)
            text.Append(name).Append(" ::= ").Append(body).Append('\n');
        return text.ToString();
    }

    /// <summary>A GBNF string literal matching <paramref name="text"/> exactly.</summary>
    public static string GbnfLiteral(string text) => Literal(text);

    private static string BuildAnyObject()
    {
        var c = new JsonSchemaGrammar(default, "schema");
        c.Helper("json-value");
        c._rules.Insert(0, ("root", "json-object"));
        var text = new StringBuilder();
        foreach (var (name, body) in c._rules)
            text.Append(name).Append(" ::= ").Append(body).Append('\n');
        return text.ToString();
    }

    // ---- schemas ----

    /// <summary>A GBNF expression that matches exactly the compact JSON values valid against <paramref name="schema"/>.</summary>
    private string Visit(JsonElement schema, string pointer)
    {
        if (schema.ValueKind == JsonValueKind.True)
            return Helper("json-value");
        if (schema.ValueKind == JsonValueKind.False)
            throw Fail(pointer, "the schema false allows no value at all");
        if (schema.ValueKind != JsonValueKind.Object)
            throw Invalid(pointer, "a schema must be an object or a boolean");

        // :: Step 1: keywords this compiler cannot honour.
        foreach (var keyword in Unsupported)
        {
            if (schema.TryGetProperty(keyword, out _))
                throw Fail(Child(pointer, keyword), $"the keyword '{keyword}' is not supported");
        }
        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True)
            throw Fail(Child(pointer, "uniqueItems"), "uniqueItems: true is not supported");

        // :: Step 2: references and combinators replace everything else (siblings must not add constraints).
        if (schema.TryGetProperty("$ref", out var reference))
        {
            RejectSiblings(schema, pointer, "$ref");
            return Ref(reference, Child(pointer, "$ref"));
        }
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            if (allOf.ValueKind != JsonValueKind.Array || allOf.GetArrayLength() != 1)
                throw Fail(Child(pointer, "allOf"), "allOf is supported only with exactly one schema");
            RejectSiblings(schema, pointer, "allOf");
            return Visit(allOf[0], Child(Child(pointer, "allOf"), "0"));
        }
        foreach (var combinator in (string[])["anyOf", "oneOf"])
        {
            if (!schema.TryGetProperty(combinator, out var branches))
                continue;
            if (branches.ValueKind != JsonValueKind.Array || branches.GetArrayLength() == 0)
                throw Invalid(Child(pointer, combinator), $"{combinator} must be a non-empty array of schemas");
            RejectSiblings(schema, pointer, combinator);
            if (combinator == "oneOf")
                CheckDisjoint(branches, Child(pointer, combinator));
            var alternatives = new List<string>();
            var i = 0;
            foreach (var branch in branches.EnumerateArray())
                alternatives.Add(Visit(branch, Child(Child(pointer, combinator), (i++).ToString(CultureInfo.InvariantCulture))));
            return NewRule(pointer, string.Join(" | ", alternatives.Distinct()));
        }

        // :: Step 3: const and enum fix the value outright.
        if (schema.TryGetProperty("const", out var constant))
            return Literal(Compact(constant));
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
                throw Invalid(Child(pointer, "enum"), "enum must be a non-empty array");
            var alternatives = values.EnumerateArray().Select(v => Literal(Compact(v))).Distinct().ToList();
            return alternatives.Count == 1 ? alternatives[0] : NewRule(pointer, string.Join(" | ", alternatives));
        }

        // :: Step 4: by type (one, several, or implied by the keywords present).
        var types = Types(schema, pointer);
        var parts = types.Select(t => ForType(schema, pointer, t)).ToList();
        return parts.Count == 1 ? parts[0] : NewRule(pointer, string.Join(" | ", parts));
    }

    private string ForType(JsonElement schema, string pointer, string type) => type switch
    {
        "object" => ObjectRule(schema, pointer),
        "array" => ArrayRule(schema, pointer),
        "string" => StringRule(schema, pointer),
        "integer" => IntegerRule(schema, pointer),
        "number" => NumberRule(schema, pointer),
        "boolean" => "(\"true\" | \"false\")",
        "null" => "\"null\"",
        _ => throw Fail(Child(pointer, "type"), $"the type '{type}' is not a JSON Schema type"),
    };

    private List<string> Types(JsonElement schema, string pointer)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
                return [type.GetString()!];
            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String))
                return type.EnumerateArray().Select(t => t.GetString()!).Distinct().ToList();
            throw Invalid(Child(pointer, "type"), "type must be a string or a non-empty array of strings");
        }
        if (schema.TryGetProperty("properties", out _) || schema.TryGetProperty("required", out _) || schema.TryGetProperty("additionalProperties", out _))
            return ["object"];
        if (schema.TryGetProperty("items", out _) || schema.TryGetProperty("minItems", out _) || schema.TryGetProperty("maxItems", out _))
            return ["array"];
        if (schema.TryGetProperty("minLength", out _) || schema.TryGetProperty("maxLength", out _))
            return ["string"];
        if (HasNumericBounds(schema))
            throw Fail(pointer, "numeric bounds without a type are not supported; say \"type\": \"integer\"");
        return ["object", "array", "string", "number", "boolean", "null"];
    }

    private string ObjectRule(JsonElement schema, string pointer)
    {
        var properties = new List<(string Name, JsonElement Schema)>();
        if (schema.TryGetProperty("properties", out var props))
        {
            if (props.ValueKind != JsonValueKind.Object)
                throw Invalid(Child(pointer, "properties"), "properties must be an object");
            foreach (var p in props.EnumerateObject())
                properties.Add((p.Name, p.Value));
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array || req.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
                throw Invalid(Child(pointer, "required"), "required must be an array of strings");
            foreach (var r in req.EnumerateArray())
            {
                var name = r.GetString()!;
                if (!properties.Any(p => p.Name == name))
                    throw Fail(Child(pointer, "required"), $"the required property '{name}' has no schema under properties");
                required.Add(name);
            }
        }
        if (schema.TryGetProperty("additionalProperties", out var additional)
            && additional.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Object))
            throw Invalid(Child(pointer, "additionalProperties"), "additionalProperties must be a boolean or a schema");

        // An object schema that names no properties allows any members; generate any JSON object.
        if (properties.Count == 0 && !(additional.ValueKind == JsonValueKind.False))
        {
            if (additional.ValueKind == JsonValueKind.Object && additional.EnumerateObject().Any())
                return NewRule(pointer, "\"{\" \"}\"");
            return Helper("json-object");
        }

        // Member i as `"name":value`; the tail rules place commas: tail(i, first) emits members i.. given whether any
        // member came before. Required members are always emitted, optional ones may be skipped.
        var members = new string[properties.Count];
        for (var i = 0; i < properties.Count; i++)
        {
            var (name, propSchema) = properties[i];
            var value = Visit(propSchema, Child(Child(pointer, "properties"), name));
            members[i] = Literal(JsonSerializer.Serialize(name, CompactOptions) + ":") + " " + value;
        }
        var baseName = RuleName(pointer);
        var tails = new string[properties.Count + 1, 2];
        for (var i = properties.Count; i >= 0; i--)
        {
            for (var first = 0; first < 2; first++)
            {
                if (i == properties.Count)
                {
                    tails[i, first] = "";
                    continue;
                }
                var comma = first == 1 ? "" : "\",\" ";
                var take = (comma + members[i] + " " + tails[i + 1, 0]).Trim();
                var body = required.Contains(properties[i].Name) ? take : $"({take})" + (tails[i + 1, first].Length > 0 ? $" | {tails[i + 1, first]}" : " | \"\"");
                tails[i, first] = Reserve($"{baseName}-{i}-{(first == 1 ? "f" : "n")}", body);
            }
        }
        return NewRule(pointer, "\"{\" " + tails[0, 1] + " \"}\"");
    }

    private string ArrayRule(JsonElement schema, string pointer)
    {
        var items = schema.TryGetProperty("items", out var itemSchema)
            ? Visit(itemSchema, Child(pointer, "items"))
            : Helper("json-value");
        var min = Count(schema, "minItems", pointer, MaxArrayItems) ?? 0;
        var max = Count(schema, "maxItems", pointer, MaxArrayItems);
        if (max is { } m && m < min)
            throw Fail(Child(pointer, "maxItems"), "maxItems is smaller than minItems");
        var item = Reserve(RuleName(pointer) + "-item", items);
        string body;
        if (max == 0)
            body = "\"[\" \"]\"";
        else if (min == 0)
            body = $"\"[\" ({item} {Repeat("(\",\" " + item + ")", 0, max - 1)})? \"]\"";
        else
            body = $"\"[\" {item} {Repeat("(\",\" " + item + ")", min - 1, max - 1)} \"]\"";
        return NewRule(pointer, body);
    }

    private string StringRule(JsonElement schema, string pointer)
    {
        var min = Count(schema, "minLength", pointer, MaxStringLength) ?? 0;
        var max = Count(schema, "maxLength", pointer, MaxStringLength);
        if (max is { } m && m < min)
            throw Fail(Child(pointer, "maxLength"), "maxLength is smaller than minLength");
        if (min == 0 && max is null)
            return Helper("json-string");
        Helper("json-char");
        return NewRule(pointer, $"\"\\\"\" {Repeat("json-char", min, max)} \"\\\"\"");
    }

    private string NumberRule(JsonElement schema, string pointer)
    {
        if (HasNumericBounds(schema))
            throw Fail(pointer, "minimum and maximum are supported on integers only, not on numbers");
        return Helper("json-number");
    }

    private string IntegerRule(JsonElement schema, string pointer)
    {
        BigInteger? lo = Bound(schema, "minimum", pointer, floor: false);
        BigInteger? hi = Bound(schema, "maximum", pointer, floor: true);
        if (Bound(schema, "exclusiveMinimum", pointer, floor: true) is { } exLo)
            lo = lo is { } l ? BigInteger.Max(l, exLo + 1) : exLo + 1;
        if (Bound(schema, "exclusiveMaximum", pointer, floor: false) is { } exHi)
            hi = hi is { } h ? BigInteger.Min(h, exHi - 1) : exHi - 1;
        var limit = BigInteger.Pow(10, MaxDigits) - 1;
        if (lo is { } a && BigInteger.Abs(a) > limit || hi is { } b && BigInteger.Abs(b) > limit)
            throw Fail(pointer, $"integer bounds beyond {MaxDigits} digits are not supported");
        if (lo is { } x && hi is { } y && x > y)
            throw Fail(pointer, "the integer bounds leave no value");
        if (lo is null && hi is null)
            return Helper("json-integer");

        // Split into the negative and the non-negative half, each a range of magnitudes.
        var alternatives = new List<string>();
        var negLo = hi is { } h2 && h2 < 0 ? -h2 : 1; // smallest magnitude of a negative value
        var negHi = lo is { } l2 ? -l2 : (BigInteger?)null; // largest magnitude, null = unbounded
        if (lo is null || lo < 0)
        {
            if (negHi is null || negHi >= negLo)
                alternatives.Add("\"-\" (" + Magnitudes(negLo, negHi) + ")");
        }
        if (hi is null || hi >= 0)
        {
            var posLo = lo is { } l3 && l3 > 0 ? l3 : 0;
            alternatives.Add(Magnitudes(posLo, hi));
        }
        return NewRule(pointer, string.Join(" | ", alternatives.Select(x => $"({x})")));
    }

    /// <summary>Decimal numerals (no leading zeros) of the values from <paramref name="lo"/> to <paramref name="hi"/> (null: up to 16 digits).</summary>
    private static string Magnitudes(BigInteger lo, BigInteger? hi)
    {
        var top = hi ?? BigInteger.Pow(10, MaxDigits) - 1;
        var parts = new List<string>();
        if (lo == 0)
        {
            parts.Add("\"0\"");
            lo = 1;
        }
        // Cut [lo, top] at powers of ten so each piece has one digit count.
        while (lo <= top)
        {
            var digits = lo.ToString(CultureInfo.InvariantCulture).Length;
            var end = BigInteger.Min(top, BigInteger.Pow(10, digits) - 1);
            parts.Add(SameLength(lo.ToString(CultureInfo.InvariantCulture), end.ToString(CultureInfo.InvariantCulture)));
            lo = end + 1;
        }
        return string.Join(" | ", parts);
    }

    /// <summary>Numerals between two numerals of equal length, digit by digit.</summary>
    private static string SameLength(string lo, string hi)
    {
        if (lo.Length == 0)
            return "\"\"";
        if (lo == hi)
            return Literal(lo);
        if (lo[0] == hi[0])
            return $"\"{lo[0]}\" ({SameLength(lo[1..], hi[1..])})";
        var rest = lo.Length - 1;
        var parts = new List<string>();
        var loTail = lo[1..];
        var hiTail = hi[1..];
        var loFull = loTail.All(c => c == '0');
        var hiFull = hiTail.All(c => c == '9');
        var first = loFull ? lo[0] : (char)(lo[0] + 1);
        var last = hiFull ? hi[0] : (char)(hi[0] - 1);
        if (!loFull)
            parts.Add($"\"{lo[0]}\" ({SameLength(loTail, new string('9', rest))})");
        if (first <= last)
            parts.Add($"[{first}-{last}]" + (rest > 0 ? $" [0-9]{{{rest}}}" : ""));
        if (!hiFull)
            parts.Add($"\"{hi[0]}\" ({SameLength(new string('0', rest), hiTail)})");
        return string.Join(" | ", parts.Select(p => $"({p})"));
    }

    private BigInteger? Bound(JsonElement schema, string keyword, string pointer, bool floor)
    {
        if (!schema.TryGetProperty(keyword, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Number)
            throw Invalid(Child(pointer, keyword), $"{keyword} must be a number");
        if (!value.TryGetDecimal(out var d))
            throw Fail(Child(pointer, keyword), $"{keyword} is out of range");
        var rounded = floor ? decimal.Floor(d) : decimal.Ceiling(d);
        return new BigInteger(rounded);
    }

    private static bool HasNumericBounds(JsonElement schema) =>
        schema.TryGetProperty("minimum", out _) || schema.TryGetProperty("maximum", out _)
        || schema.TryGetProperty("exclusiveMinimum", out _) || schema.TryGetProperty("exclusiveMaximum", out _);

    private int? Count(JsonElement schema, string keyword, string pointer, int limit)
    {
        if (!schema.TryGetProperty(keyword, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n) || n < 0)
            throw Invalid(Child(pointer, keyword), $"{keyword} must be a non-negative integer");
        if (n > limit)
            throw Fail(Child(pointer, keyword), $"{keyword} above {limit} is not supported");
        return (int)n;
    }

    // ---- $ref, oneOf ----

    private string Ref(JsonElement reference, string pointer)
    {
        if (reference.ValueKind != JsonValueKind.String)
            throw Invalid(pointer, "$ref must be a string");
        var target = reference.GetString()!;
        if (!target.StartsWith('#'))
            throw Fail(pointer, $"only references inside the schema are supported ('{target}' is not)");
        if (_refRules.TryGetValue(target, out var existing))
            return existing;
        var targetPointer = Uri.UnescapeDataString(target[1..]);
        var resolved = Resolve(targetPointer, pointer, target);
        // The rule name is reserved before its body is compiled, so a schema that refers to itself ends in a rule
        // that names itself: recursion in the grammar, not in the compiler.
        var name = UniqueName("ref" + RuleName(targetPointer));
        _refRules[target] = name;
        var index = _rules.Count;
        _rules.Add((name, "\"\""));
        var body = Visit(resolved, targetPointer);
        _rules[index] = (name, body);
        return name;
    }

    private JsonElement Resolve(string jsonPointer, string pointer, string target)
    {
        var current = _document;
        if (jsonPointer.Length == 0)
            return current;
        if (!jsonPointer.StartsWith('/'))
            throw Fail(pointer, $"the reference '{target}' is not a JSON pointer ('#/$defs/name')");
        foreach (var raw in jsonPointer[1..].Split('/'))
        {
            var token = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(token, out var next))
                current = next;
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(token, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < current.GetArrayLength())
                current = current[i];
            else
                throw Invalid(pointer, $"the reference '{target}' points at nothing in the schema");
        }
        return current;
    }

    /// <summary>
    /// oneOf needs exactly one branch to match. The grammar can only promise that when no value can match two branches:
    /// branches of pairwise different types, or objects that all require one property with pairwise different constants.
    /// </summary>
    private void CheckDisjoint(JsonElement branches, string pointer)
    {
        var list = branches.EnumerateArray().Select(b => b.ValueKind == JsonValueKind.Object && b.TryGetProperty("$ref", out var r) && r.ValueKind == JsonValueKind.String && r.GetString()!.StartsWith('#')
            ? SafeResolve(r.GetString()!) ?? b
            : b).ToList();
        var typeSets = list.Select(DeclaredTypes).ToList();
        var disjointTypes = typeSets.All(t => t is not null);
        for (var i = 0; disjointTypes && i < typeSets.Count; i++)
        {
            for (var j = i + 1; j < typeSets.Count; j++)
            {
                if (typeSets[i]!.Overlaps(typeSets[j]!) || typeSets[i]!.Contains("number") && typeSets[j]!.Contains("integer") || typeSets[i]!.Contains("integer") && typeSets[j]!.Contains("number"))
                    disjointTypes = false;
            }
        }
        if (disjointTypes || HasDiscriminator(list))
            return;
        throw Fail(pointer, "oneOf branches that one value could match together are not supported (use anyOf, or give each branch a distinct type or a required property with a distinct const)");
    }

    private JsonElement? SafeResolve(string target)
    {
        try
        {
            return Resolve(Uri.UnescapeDataString(target[1..]), "", target);
        }
        catch (SovereignException)
        {
            return null;
        }
    }

    private static HashSet<string>? DeclaredTypes(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type))
            return null;
        if (type.ValueKind == JsonValueKind.String)
            return [type.GetString()!];
        if (type.ValueKind == JsonValueKind.Array)
            return type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToHashSet();
        return null;
    }

    private static bool HasDiscriminator(List<JsonElement> branches)
    {
        if (branches.Count == 0 || branches.Any(b => b.ValueKind != JsonValueKind.Object || !b.TryGetProperty("properties", out var p) || p.ValueKind != JsonValueKind.Object))
            return false;
        foreach (var candidate in branches[0].GetProperty("properties").EnumerateObject())
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var ok = true;
            foreach (var b in branches)
            {
                var required = b.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
                    && r.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.String && x.GetString() == candidate.Name);
                if (!required || !b.GetProperty("properties").TryGetProperty(candidate.Name, out var prop) || prop.ValueKind != JsonValueKind.Object
                    || !prop.TryGetProperty("const", out var c) || !seen.Add(Compact(c)))
                {
                    ok = false;
                    break;
                }
            }
            if (ok)
                return true;
        }
        return false;
    }

    private void RejectSiblings(JsonElement schema, string pointer, string keyword)
    {
        foreach (var p in schema.EnumerateObject())
        {
            if (p.Name != keyword && !Annotations.Contains(p.Name))
                throw Fail(Child(pointer, p.Name), $"'{p.Name}' beside '{keyword}' is not supported (move it into the referenced or combined schemas)");
        }
    }

    // ---- rules ----

    /// <summary>Adds a shared helper rule (and those it needs) once; returns its name.</summary>
    private string Helper(string name)
    {
        if (!_helpers.Add(name))
            return name;
        _names.Add(name);
        switch (name)
        {
            case "json-char":
                // Any character but a quote, a backslash or a control character; or an escape.
                _rules.Add((name, "[^\"\\\\\\x00-\\x1F\\x7F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})"));
                break;
            case "json-string":
                Helper("json-char");
                _rules.Add((name, "\"\\\"\" json-char* \"\\\"\""));
                break;
            case "json-integer":
                _rules.Add((name, $"\"-\"? (\"0\" | [1-9] [0-9]{{0,{MaxDigits - 1}}})"));
                break;
            case "json-number":
                _rules.Add((name, $"\"-\"? (\"0\" | [1-9] [0-9]{{0,{MaxDigits - 1}}}) (\".\" [0-9]{{1,{MaxDigits}}})? ([eE] [-+]? [0-9]{{1,3}})?"));
                break;
            case "json-object":
                Helper("json-string");
                Helper("json-value");
                _rules.Add((name, "\"{\" (json-string \":\" json-value (\",\" json-string \":\" json-value)*)? \"}\""));
                break;
            case "json-array":
                Helper("json-value");
                _rules.Add((name, "\"[\" (json-value (\",\" json-value)*)? \"]\""));
                break;
            case "json-value":
                _rules.Add((name, "json-object | json-array | json-string | json-number | \"true\" | \"false\" | \"null\""));
                Helper("json-object");
                Helper("json-array");
                Helper("json-string");
                Helper("json-number");
                break;
        }
        return name;
    }

    private string NewRule(string pointer, string body) => Reserve(RuleName(pointer), body);

    private string Reserve(string wanted, string body)
    {
        var name = UniqueName(wanted);
        _rules.Add((name, body));
        if (_rules.Count > MaxRules)
            throw Fail("", $"the schema needs more than {MaxRules} grammar rules; simplify it");
        return name;
    }

    private string UniqueName(string wanted)
    {
        var name = wanted;
        for (var i = 2; !_names.Add(name); i++)
            name = $"{wanted}-{i}";
        return name;
    }

    /// <summary>A rule name from a pointer: letters, digits and '-' only (llama.cpp's rule name characters).</summary>
    private string RuleName(string pointer)
    {
        var text = new StringBuilder(_namePrefix);
        foreach (var c in pointer)
        {
            if (char.IsAsciiLetterOrDigit(c))
                text.Append(c);
            else if (text[^1] != '-')
                text.Append('-');
        }
        var name = text.ToString().TrimEnd('-');
        return name.Length > 60 ? name[..60].TrimEnd('-') : name;
    }

    private static string Repeat(string item, int min, int? max) => max switch
    {
        null when min == 0 => $"({item})*",
        null => $"({item}){{{min},}}",
        { } m when m == min && m == 0 => "\"\"",
        { } m when m == min => $"({item}){{{m}}}",
        { } m => $"({item}){{{min},{m}}}",
    };

    /// <summary>A GBNF string literal matching <paramref name="text"/> exactly.</summary>
    internal static string Literal(string text)
    {
        var s = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': s.Append("\\\""); break;
                case '\\': s.Append("\\\\"); break;
                case '\n': s.Append("\\n"); break;
                case '\r': s.Append("\\r"); break;
                case '\t': s.Append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7F) s.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                    else s.Append(c);
                    break;
            }
        }
        return s.Append('"').ToString();
    }

    /// <summary>A JSON value as compact text, as the grammar emits it.</summary>
    private static string Compact(JsonElement value) => JsonSerializer.Serialize(value, CompactOptions);

    private static readonly JsonSerializerOptions CompactOptions = new()
    {
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static string Child(string pointer, string token) =>
        pointer + "/" + token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private SovereignException Fail(string pointer, string what) => SovereignException.Invalid(
        $"The JSON schema in '{_param}' cannot be enforced at '{(pointer.Length == 0 ? "/" : pointer)}': {what}.", _param, "unsupported_schema");

    private SovereignException Invalid(string pointer, string what) => SovereignException.Invalid(
        $"The JSON schema in '{_param}' is not valid at '{(pointer.Length == 0 ? "/" : pointer)}': {what}.", _param, "invalid_schema");
}
