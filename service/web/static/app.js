/* eventpromo: the little script the pages use (no framework, no build step; served from the package).
 * - a live length counter per network, counting the way the server does (X: weighted, links as 23),
 *   confirmed by the server's own count (/api/length) a moment after typing stops: the server is the judge;
 * - a live preview of the post;
 * - confirmation of destructive buttons (data-confirm), filters that apply on change (data-autosubmit).
 * Text is only ever put into the page with textContent: calendar and post texts are untrusted.
 */
(function () {
  "use strict";

  // X's weighting (twitter-text 3): these code point ranges weigh 1, every other code point 2; links 23; emoji 2.
  var X_LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  var URL_RE = /https?:\/\/[^\s]+/gi;  // the other networks' rule (as the server's fitting.py)
  // X's links (twitter-text): a domain whose last label is a known TLD, with or without http(s)://,
  // not part of an e-mail address or a word; trailing punctuation is not part of the link.
  var TLDS = new Set(window.EVENTPROMO_TLDS || []);
  var X_URL_RE = /(^|[^A-Za-z0-9@\uff20$#\uff03])((https?:\/\/)?((?:[\p{L}\p{N}_-]+\.)+([\p{L}\p{N}-]+))(?::\d+)?(?:[/?#][^\s]*)?)/giu;
  var PATH_END_RE = /[\p{L}\p{N}=_#\/+-]$/u;
  var EMOJI_RE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
  var segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

  function graphemes(text) {
    if (!segmenter) { return Array.from(text); }
    return Array.from(segmenter.segment(text), function (s) { return s.segment; });
  }

  function codePointWeight(cp) {
    for (var i = 0; i < X_LIGHT.length; i++) {
      if (cp >= X_LIGHT[i][0] && cp <= X_LIGHT[i][1]) { return 1; }
    }
    return 2;
  }

  function trimUrl(url) {
    // Drop trailing punctuation; keep a closing parenthesis that closes one opened inside the link.
    while (url.length && !PATH_END_RE.test(url)) {
      if (url.endsWith(")") && (url.match(/\(/g) || []).length >= (url.match(/\)/g) || []).length) { break; }
      url = url.slice(0, -1);
    }
    return url;
  }

  function xLinks(text) {
    var spans = [];
    var m;
    X_URL_RE.lastIndex = 0;
    while ((m = X_URL_RE.exec(text)) !== null) {
      var start = m.index + m[1].length;
      var protocol = m[3];
      var domain = m[4];
      var tld = m[5].toLowerCase();
      var ok = TLDS.has(tld) && (protocol || (/^[\x00-\x7f]+$/.test(domain) && !/[-_./]$/.test(m[1])));
      if (ok) {
        var url = trimUrl(m[2]);
        spans.push([start, start + url.length]);
      }
      if (X_URL_RE.lastIndex === m.index) { X_URL_RE.lastIndex++; }
    }
    return spans;
  }

  function xLength(text) {
    text = text.normalize("NFC");
    var total = 0;
    var pos = 0;
    xLinks(text).forEach(function (span) {
      total += xPlain(text.slice(pos, span[0])) + 23;
      pos = span[1];
    });
    return total + xPlain(text.slice(pos));
  }

  function xPlain(text) {
    var n = 0;
    graphemes(text).forEach(function (g) {
      if (EMOJI_RE.test(g)) { n += 2; return; }
      for (var ch of g) { n += codePointWeight(ch.codePointAt(0)); }
    });
    return n;
  }

  /** The length of `text` as `counting` ("twitter", "graphemes", "chars") counts it, links as linkLength. */
  function countLength(text, counting, linkLength) {
    if (counting === "twitter") { return xLength(text); }
    if (linkLength) { text = text.replace(URL_RE, "x".repeat(linkLength)); }
    if (counting === "graphemes") { return graphemes(text).length; }
    return Array.from(text).length;
  }

  // The server strips trailing spaces and blank edges before counting; count the same text.
  function normalize(text) {
    return text.replace(/\r\n?/g, "\n").split("\n").map(function (l) { return l.replace(/\s+$/, ""); }).join("\n").trim();
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function renderPreview(target, text) {
    // Links shortened and hashtags marked the way networks show them; built from text nodes only.
    while (target.firstChild) { target.removeChild(target.firstChild); }
    var re = /(https?:\/\/[^\s]+)|(#[\p{L}\p{N}_]+)/gu;
    var pos = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      target.appendChild(document.createTextNode(text.slice(pos, m.index)));
      var span = document.createElement("span");
      if (m[1]) {
        var shown = m[1].replace(/^https?:\/\/(www\.)?/, "");
        span.className = "pv-link";
        span.textContent = shown.length > 26 ? shown.slice(0, 25) + "…" : shown;
        span.title = m[1];
      } else {
        span.className = "pv-tag";
        span.textContent = m[2];
      }
      target.appendChild(span);
      pos = m.index + m[0].length;
    }
    target.appendChild(document.createTextNode(text.slice(pos)));
  }

  function setupEditor(area) {
    var counter = document.getElementById(area.dataset.counter);
    var preview = document.getElementById(area.dataset.preview);
    var limit = parseInt(area.dataset.limit, 10);
    var linkLength = area.dataset.linkLength ? parseInt(area.dataset.linkLength, 10) : 0;
    var timer = null;
    var serial = 0;

    function show(n, note, judged) {
      if (!counter) { return; }
      counter.querySelector(".count").textContent = String(n);
      var over = n > limit;
      counter.classList.toggle("over", over);
      counter.classList.toggle("judged", !!judged);
      counter.querySelector(".counter-note").textContent = over ? "too long by " + (n - limit) + note : note;
    }

    function update() {
      var text = normalize(area.value);
      show(countLength(text, area.dataset.counting, linkLength), "", false);
      if (preview) { renderPreview(preview, text); }
      clearTimeout(timer);
      timer = setTimeout(function () { confirmWithServer(text); }, 400);
    }

    function confirmWithServer(text) {
      var mine = ++serial;
      fetch(area.dataset.lengthUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ text: text, network: area.dataset.network })
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && mine === serial) { show(data.length, " (checked by the server)", true); }
      }).catch(function () { /* offline: the local count stays; saving checks again */ });
    }

    area.addEventListener("input", update);
    // The page arrives with the server's own count; the preview is drawn now, the count only changes on input.
    if (preview) { renderPreview(preview, normalize(area.value)); }
  }

  function setup() {
    document.documentElement.classList.add("js");
    document.querySelectorAll("textarea[data-network]").forEach(setupEditor);
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (ev) {
        if (!window.confirm(button.dataset.confirm)) { ev.preventDefault(); }
      });
    });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var hash = window.location.hash;
    if (hash && hash.indexOf("#post-") === 0) {
      var target = document.getElementById(hash.slice(1));
      if (target) { target.classList.add("focus"); }
    }
  }

  window.eventpromo = { countLength: countLength, normalize: normalize };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
