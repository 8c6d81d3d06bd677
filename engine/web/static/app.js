// Zoom buttons for the charts; the page works without this file (the chart scrolls).
"use strict";
document.querySelectorAll(".zoom").forEach(function (bar) {
  var box = document.getElementById(bar.dataset.target);
  var image = box && box.querySelector("img");
  if (!image) { return; }
  var scale = 1;
  bar.querySelectorAll("button[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      scale = Math.min(4, Math.max(0.25, scale * parseFloat(button.dataset.zoom)));
      image.style.width = Math.round(image.naturalWidth * scale) + "px";
    });
  });
});
