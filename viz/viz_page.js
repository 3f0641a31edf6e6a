// zembed pages: helpers every page script shares (inlined by viz_page.c before the page's own).
"use strict";
// A new HTML element: class cls, text, appended to parent (each optional).
function zbHtml(tag, cls, parent, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
